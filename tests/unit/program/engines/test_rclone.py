"""An engine's copy output is read as the engine writes it: each copied or deleted object goes to the
caller at once and only the copied keys stay, so a first backup of a million objects holds about a key
per object, never the engine's whole output (docs/benchmarks.md, a large bucket)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import tracemalloc

import pytest

from dream_backup.engines import proc
from dream_backup.engines.base import BACKUP, ERRORS_KEPT, SOURCE, Location, iter_json_lines
from dream_backup.engines.rclone import NETWORK_FLAGS, RcloneEngine
from dream_backup.errors import ConfigError, EngineError
from dream_backup.log import Scrubber
from tests.unit.program.engines.conftest import assert_no_secret_on_argv

OBJECTS = 20_000
BYTES_PER_OBJECT = 200  # the program's memory goal per object


def rclone_copy_log(count: int):
    """rclone's JSON log of a copy (--use-json-log -v), line by line, as the engine would write it."""
    for i in range(count):
        yield json.dumps({"level": "info", "msg": "Copied (new)", "object": f"book-{i:06d}/page.png",
                          "objectType": "*s3.Object", "size": 1000 + i, "source": "operations/copy.go:263",
                          "time": "2026-11-29T23:44:20.248123+00:00"}) + "\n"
    yield json.dumps({"level": "info", "msg": "Deleted", "object": "gone.png", "size": 3}) + "\n"
    yield json.dumps({"level": "error", "msg": "Failed to copy: boom", "object": "bad.bin"}) + "\n"
    yield "2026/11/29 23:44:20 NOTICE: not JSON\n"
    yield "3\n"  # JSON, but not an entry


def test_rclone_copy_log_hands_each_event_over_and_keeps_only_the_keys(make_config):
    engine = RcloneEngine(make_config(), Scrubber())
    handed = {"Copied (new)": 0, "Deleted": 0}

    def on_event(entry: dict) -> None:
        handed[entry["msg"]] += 1

    try:
        tracemalloc.start()
        result = engine.parse_copy_log(rclone_copy_log(OBJECTS), on_event)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        engine.close()
    assert handed == {"Copied (new)": OBJECTS, "Deleted": 1}
    assert len(result.keys) == OBJECTS and result.keys[-1] == f"book-{OBJECTS - 1:06d}/page.png"
    assert result.deleted == 1 and result.events == []
    assert result.errors == ["bad.bin: Failed to copy: boom"]
    assert peak < BYTES_PER_OBJECT * OBJECTS, f"{peak / OBJECTS:.0f} bytes per object"


def test_rclone_copy_log_without_a_receiver_keeps_the_events(make_config):
    engine = RcloneEngine(make_config(), Scrubber())
    try:
        result = engine.parse_copy_log(rclone_copy_log(2))
    finally:
        engine.close()
    assert [e["object"] for e in result.events] == ["book-000000/page.png", "book-000001/page.png", "gone.png"]


def test_json_lines_are_read_one_object_at_a_time():
    lines = ['{"status": "success", "source": "a"}\n',
             "{\n", ' "status": "error",\n', ' "error": {\n', '  "message": "x"\n', " }\n", "}\n",
             "mc: <ERROR> not JSON\n",
             '{"status": "success"}']
    assert list(iter_json_lines(lines)) == [{"status": "success", "source": "a"},
                                            {"status": "error", "error": {"message": "x"}},
                                            {"status": "success"}]
    assert list(iter_json_lines([])) == []


def test_json_lines_of_a_long_stream_hold_one_object():
    def mirror_output():
        for i in range(OBJECTS):
            yield json.dumps({"status": "success", "source": f"source/books/{i:06d}", "size": i}) + "\n"

    tracemalloc.start()
    try:
        count = sum(1 for _ in iter_json_lines(mirror_output()))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == OBJECTS
    assert peak < 64 * 1024, peak


def test_a_restore_counts_its_copies_and_keeps_no_key_and_only_the_first_errors(make_config):
    engine = RcloneEngine(make_config(), Scrubber())

    def log_with_failures(count: int):
        yield from rclone_copy_log(count)
        for i in range(ERRORS_KEPT + 30):
            yield json.dumps({"level": "error", "msg": "Failed to copy: gone", "object": f"lost-{i}"}) + "\n"

    try:
        tracemalloc.start()
        result = engine.parse_copy_log(log_with_failures(OBJECTS), lambda _entry: None, keep_keys=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        engine.close()
    assert result.copied == OBJECTS and result.keys == []
    assert result.error_count == ERRORS_KEPT + 31 and len(result.errors) == ERRORS_KEPT
    assert result.errors[0] == "bad.bin: Failed to copy: boom"
    assert result.summary() == f"bad.bin: Failed to copy: boom (and {ERRORS_KEPT + 30} more errors)"
    assert peak < 20 * OBJECTS, f"{peak / OBJECTS:.0f} bytes per object"  # nothing kept per object


def test_rclone_listings_are_lossy_only_for_providers_it_does_not_ask_for_url_encoding(make_config):
    """docs/unstorable.md: rclone 1.60 lists URL-encoded for Minio (the default), not for SeaweedFS or Other."""
    lossy = {provider: RcloneEngine(make_config(BACKUP_S3_PROVIDER=provider), Scrubber()).lossy_listings
             for provider in ("Minio", "AWS", "Wasabi", "SeaweedFS", "Ceph", "Other")}
    assert lossy == {"Minio": False, "AWS": False, "Wasabi": False, "SeaweedFS": True, "Ceph": True, "Other": True}


# --- the argv it builds, the environment it passes, the output it reads (an engine binary that records) -----



@pytest.fixture
def rclone(scripted, make_config, monkeypatch):
    """An RcloneEngine whose binary records its calls; the caller's environment holds a variable that
    must not reach the child."""
    monkeypatch.setenv("AWS_CA_BUNDLE", "/caller/ca.pem")
    binary = scripted("rclone")
    engines = []

    def make(**extra):
        config = make_config(**{"BACKUP_ENGINE": "rclone", "RCLONE_PATH": str(binary.path)} | extra)
        engines.append(RcloneEngine(config, Scrubber(config.secrets)))
        return engines[-1]

    yield binary, make
    for engine in engines:
        engine.close()


def test_credentials_reach_rclone_only_through_its_environment(rclone):
    binary, make = rclone
    engine = make()
    assert engine.bucket_exists(SOURCE, "books") is True
    [call] = binary.calls()
    assert call["argv"] == ["lsf", "--max-depth", "1", "--dirs-only", *NETWORK_FLAGS, "source:books"]
    assert_no_secret_on_argv([call])
    env = call["env"]
    assert env["RCLONE_CONFIG_SOURCE_ACCESS_KEY_ID"] == "source-access"
    assert env["RCLONE_CONFIG_SOURCE_SECRET_ACCESS_KEY"] == "source-secret"
    assert env["RCLONE_CONFIG_SOURCE_ENDPOINT"] == "http://minio.internal:9000"
    assert env["RCLONE_CONFIG_SOURCE_PROVIDER"] == "Minio"
    assert env["RCLONE_CONFIG_BACKUP_ACCESS_KEY_ID"] == "target-access"
    assert env["RCLONE_CONFIG_BACKUP_SECRET_ACCESS_KEY"] == "target-secret"
    assert env["RCLONE_CONFIG_BACKUP_ENDPOINT"] == "https://s3.offsite.example"
    for remote in ("SOURCE", "BACKUP"):
        assert env[f"RCLONE_CONFIG_{remote}_TYPE"] == "s3"
        assert env[f"RCLONE_CONFIG_{remote}_ENV_AUTH"] == "false"
        assert env[f"RCLONE_CONFIG_{remote}_NO_CHECK_BUCKET"] == "true"
    # No config file of root's is read: an empty one in the run's private directory.
    assert env["RCLONE_CONFIG"].startswith(engine.workdir) and os.path.getsize(env["RCLONE_CONFIG"]) == 0
    # Nothing of the caller's environment: an inherited AWS_CA_BUNDLE breaks Debian's rclone.
    assert "AWS_CA_BUNDLE" not in env and env["PATH"] == proc.SAFE_PATH and env["HOME"] == engine.workdir


def test_the_provider_of_the_target_is_the_configured_one_and_a_ca_file_is_passed(rclone, tmp_path):
    binary, make = rclone
    ca = tmp_path / "ca.pem"
    ca.write_text("")
    make(BACKUP_S3_PROVIDER="SeaweedFS", BACKUP_CA_FILE=str(ca)).versioning("dcs-backup")
    [call] = binary.calls()
    assert call["env"]["RCLONE_CONFIG_BACKUP_PROVIDER"] == "SeaweedFS"
    assert call["argv"] == ["backend", "versioning", *NETWORK_FLAGS, "backup:dcs-backup", "--ca-cert", str(ca)]


def test_bucket_exists_reads_exit_code_3_as_missing_and_fails_on_others_without_secrets(rclone):
    binary, make = rclone
    engine = make()
    binary.answer(stderr="ERROR : directory not found\n", rc=3)
    assert engine.bucket_exists(BACKUP, "gone") is False
    binary.answer(stderr="noise\nFailed: SignatureDoesNotMatch for key target-secret\n", rc=1)
    with pytest.raises(EngineError) as failed:
        engine.bucket_exists(BACKUP, "books")
    assert str(failed.value) == "checking bucket backup/books failed: Failed: SignatureDoesNotMatch for key ********"
    binary.answer(rc=7)
    with pytest.raises(EngineError, match=r"^checking bucket backup/books failed: rclone exited with 7: no message$"):
        engine.bucket_exists(BACKUP, "books")


@pytest.mark.parametrize(("printed", "state"), [("Enabled\n", "Enabled"), ("Suspended\n", "Suspended"),
                                                ("Unversioned\n", "")])
def test_versioning_state_is_read_from_rclones_answer(rclone, printed, state):
    binary, make = rclone
    binary.answer(stdout=printed)
    assert make().versioning("dcs-backup") == state


def test_make_bucket_overrides_no_check_bucket_for_that_one_call(rclone):
    binary, make = rclone
    make().make_bucket(BACKUP, "restore-1")
    assert binary.calls()[0]["argv"] == ["mkdir", *NETWORK_FLAGS, "backup,no_check_bucket=false:restore-1"]


@pytest.mark.parametrize(("remove", "overwrite", "verb", "compare"), [
    (False, True, "copy", "--checksum"), (True, True, "sync", "--checksum"),
    (False, False, "copy", "--ignore-existing")])
def test_copy_argv_and_its_json_log_read_from_the_merged_output(rclone, remove, overwrite, verb, compare):
    binary, make = rclone
    log = "".join(rclone_copy_log(2))
    binary.answer(stderr=log)  # rclone logs on stderr; the engine reads it through the same pipe
    result = make(BACKUP_BANDWIDTH="1M").copy(Location(SOURCE, "books"), Location(BACKUP, "dcs-backup", "books"),
                                               remove=remove, overwrite=overwrite, timeout=600)
    [call] = binary.calls()
    assert call["argv"] == [verb, "source:books", "backup:dcs-backup/books", "--metadata", "--use-json-log", "-v",
                            "--stats", "0", *NETWORK_FLAGS, compare, "--bwlimit", "1000000B"]
    assert_no_secret_on_argv([call])
    assert result.keys == ["book-000000/page.png", "book-000001/page.png"]
    assert result.deleted == 1 and result.errors == ["bad.bin: Failed to copy: boom"]
    assert not result.timed_out


def test_a_copy_that_exits_non_zero_without_an_error_line_fails_with_rclones_last_words(rclone):
    binary, make = rclone
    binary.answer(stderr="Fatal error: target-secret rejected\n", rc=1)
    result = make().copy(Location(SOURCE, "books"), Location(BACKUP, "b"), remove=False, overwrite=True, timeout=600)
    assert result.errors == ["rclone exited with 1: Fatal error: ******** rejected"]


def test_error_lines_of_the_copy_log_are_scrubbed(rclone):
    binary, make = rclone
    binary.answer(stderr=json.dumps({"level": "error", "msg": "auth target-secret", "object": "k"}) + "\n", rc=1)
    result = make().copy(Location(SOURCE, "books"), Location(BACKUP, "b"), remove=False, overwrite=True, timeout=600)
    assert result.errors == ["k: auth ********"]


def test_scan_reads_lsjson_line_by_line_with_md5_sizes_and_times(rclone):
    binary, make = rclone
    binary.answer(stdout='[\n{"Path":"a/b.png","Size":5,"ModTime":"2026-11-29T23:44:20.248123Z",'
                         '"Hashes":{"md5":"0cc175b9c0f1b6a831c399e269772661"}},\n'
                         '{"Path":"c","Size":0,"ModTime":"2026-11-29T23:44:21Z","Hashes":{}}\n]\n')
    objects = list(make().scan(Location(SOURCE, "books", "x")))
    assert [(o.key, o.size, o.md5) for o in objects] == [("a/b.png", 5, "0cc175b9c0f1b6a831c399e269772661"),
                                                        ("c", 0, None)]
    assert objects[0].mtime.isoformat() == "2026-11-29T23:44:20.248123+00:00"
    assert binary.calls()[0]["argv"] == ["lsjson", "-R", "--files-only", "--no-mimetype", "--use-server-modtime",
                                         "--hash", "--hash-type", "MD5", *NETWORK_FLAGS, "source:books/x"]


def test_scan_of_a_missing_bucket_names_it(rclone):
    binary, make = rclone
    binary.answer(stderr="ERROR : : error listing: directory not found\n", rc=3)
    with pytest.raises(EngineError, match=r"^bucket books does not exist on source$"):
        list(make().scan(Location(SOURCE, "books")))


def test_keys_to_delete_go_in_a_private_list_file_never_on_argv(rclone):
    binary, make = rclone
    binary.answer(stderr=json.dumps({"level": "info", "msg": "Deleted", "object": "run/a.txt"}) + "\n")
    engine = make()
    keys = ["a.txt", "sub/b.txt", "with space & quote'.txt"]
    result = engine.delete_keys(Location(SOURCE, "books", "run"), keys, 60)
    [call] = binary.calls()
    assert not any(key in arg for key in keys for arg in call["argv"])
    assert call["files_from"] == "".join(key + "\n" for key in keys)
    listed = call["argv"][call["argv"].index("--files-from-raw") + 1]
    assert listed.startswith(engine.workdir) and not os.path.exists(listed)  # removed after the call
    assert call["argv"][:2] == ["delete", "source:books/run"]
    assert result.deleted == 1


def test_an_object_is_read_with_its_key_in_a_list_file(rclone):
    binary, make = rclone
    binary.answer(stdout="the bytes")
    assert make().sha256(Location(BACKUP, "dcs-backup", "books"), "book-1/secret name.png") == (
        hashlib.sha256(b"the bytes").hexdigest(), 9)
    [call] = binary.calls()
    assert call["argv"][0] == "cat" and call["argv"][-1] == "backup:dcs-backup/books/book-1"
    assert call["files_from"] == "secret name.png\n"
    assert not any("secret name" in arg for arg in call["argv"])


def test_require_binary_runs_the_real_rclone_and_names_its_version(make_config):
    config = make_config(BACKUP_ENGINE="rclone", RCLONE_PATH=shutil.which("rclone"))
    engine = RcloneEngine(config, Scrubber(config.secrets))
    try:
        assert engine.require_binary().startswith("rclone v")
        assert engine.binary() == os.path.realpath(shutil.which("rclone"))
    finally:
        engine.close()


def test_require_binary_refuses_what_is_not_rclone_or_is_not_roots_alone(rclone, tmp_path):
    binary, make = rclone
    binary.answer(stdout="GNU Midnight Commander 4.8.29\n")
    with pytest.raises(ConfigError, match=r"is not rclone \('version' printed 'GNU Midnight Commander 4.8.29'\)"):
        make().require_binary()
    binary.path.chmod(0o775)
    with pytest.raises(ConfigError, match="writable by group or others; refused"):
        make().require_binary()
    with pytest.raises(ConfigError, match="is missing or not executable"):
        make(RCLONE_PATH=str(tmp_path / "absent")).require_binary()


def test_the_private_directory_is_removed_on_close(rclone):
    _, make = rclone
    engine = make()
    assert stat.S_IMODE(os.stat(engine.workdir).st_mode) == 0o700
    engine.close()
    assert not os.path.exists(engine.workdir)
