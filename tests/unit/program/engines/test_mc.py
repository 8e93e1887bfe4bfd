"""The mc engine (engines/mc.py) with a binary that records its calls and answers with mc's own output
(docs/mc.md; tests/support/mc_double.py prints the same): the argv of each call, credentials only as
MC_HOST_<alias> in the child's environment, and how mc's JSON (one line per object, indented error
objects) is read. Its version check runs the repository's mc double."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from dream_backup.engines import proc
from dream_backup.engines.base import BACKUP, SOURCE, Location
from dream_backup.engines.mc import RM_BATCH, McEngine, error_text, mc_host
from dream_backup.errors import ConfigError, EngineError
from dream_backup.log import Scrubber
from tests.support import mc_double
from tests.support.program import REPO
from tests.unit.program.engines.conftest import assert_no_secret_on_argv


def mc_error(message: str, cause: str = "") -> str:
    """An error object as mc prints it: indented over several lines, also into a pipe."""
    return json.dumps({"status": "error", "error": {"message": message, "cause": {"message": cause or message,
                                                                                "error": {}}, "type": "error"}},
                      indent=1) + "\n"


def line(**obj) -> str:
    return json.dumps({"status": "success", **obj}) + "\n"


@pytest.fixture
def mc(scripted, make_config, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "caller-key")
    binary = scripted("mc")
    engines = []

    def make(**extra):
        config = make_config(**{"MC_PATH": str(binary.path)} | extra)
        engines.append(McEngine(config, Scrubber(config.secrets)))
        return engines[-1]

    yield binary, make
    for engine in engines:
        engine.close()


def test_credentials_reach_mc_only_as_mc_host_variables(mc):
    binary, make = mc
    binary.answer(stdout=line(name="books", type="folder"))
    engine = make()
    assert engine.bucket_exists(SOURCE, "books") is True
    [call] = binary.calls()
    assert call["argv"] == ["--no-color", "stat", "--no-list", "--json", "source/books"]
    assert_no_secret_on_argv([call])
    env = call["env"]
    assert env["MC_HOST_source"] == "http://source-access:source-secret@minio.internal:9000"
    assert env["MC_HOST_backup"] == "https://target-access:target-secret@s3.offsite.example"
    # mc's config.json goes into the run's private directory, never root's ~/.mc.
    assert env["MC_CONFIG_DIR"] == os.path.join(engine.workdir, "mc")
    assert os.path.isdir(os.path.join(engine.workdir, "mc", "certs", "CAs"))
    assert "AWS_ACCESS_KEY_ID" not in env and env["PATH"] == proc.SAFE_PATH and env["HOME"] == engine.workdir


def test_mc_host_keeps_the_url_parts_and_puts_the_credentials_before_the_host():
    assert mc_host("https://s3.example:8443", "AK", "s/+%41") == "https://AK:s/+%41@s3.example:8443"
    # Parsed back by the double exactly as mc's regular expressions parse it.
    assert mc_double.parse_host(mc_host("https://s3.example:8443", "AK", "s/+%41")) == (
        "https", "AK", "s/+%41", "", "s3.example:8443")


def test_a_ca_file_is_trusted_through_mcs_certs_directory(mc, tmp_path):
    _, make = mc
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    engine = make(BACKUP_CA_FILE=str(ca))
    assert (Path(engine.workdir) / "mc" / "certs" / "CAs" / "backup-ca.crt").read_text() == ca.read_text()


def test_error_text_joins_message_and_cause():
    assert error_text({"error": {"message": "Failed to copy `a`.", "cause": {"message": "Access Denied."}}}) == \
        "Failed to copy `a`. (Access Denied.)"
    assert error_text({"error": {"message": "same", "cause": {"message": "same"}}}) == "same"
    assert error_text({"error": "plain"}) == "plain"
    assert error_text({}) == ""


def test_bucket_exists_reads_mcs_error_object(mc):
    binary, make = mc
    engine = make()
    binary.answer(stdout=mc_error("Unable to stat `backup/gone`. Bucket `gone` does not exist."), rc=1)
    assert engine.bucket_exists(BACKUP, "gone") is False
    binary.answer(stdout=mc_error("Unable to stat `backup/books`.", "The Access Key Id target-access is wrong, "
                                  "secret target-secret"), rc=1)
    with pytest.raises(EngineError) as failed:
        engine.bucket_exists(BACKUP, "books")
    assert str(failed.value) == ("checking bucket backup/books failed: Unable to stat `backup/books`. "
                                 "(The Access Key Id target-access is wrong, secret ********)")
    binary.answer(stderr="mc: <ERROR> killed\n", rc=9)
    with pytest.raises(EngineError, match=r"failed: mc exited with 9: mc: <ERROR> killed$"):
        engine.bucket_exists(BACKUP, "books")


@pytest.mark.parametrize(("status", "state"), [("Enabled", "Enabled"), ("Suspended", "Suspended"), ("", "")])
def test_versioning_state_is_read_from_mcs_json(mc, status, state):
    binary, make = mc
    binary.answer(stdout=line(Op="info", url="backup/dcs-backup", versioning={"status": status, "MFADelete": ""}))
    assert make().versioning("dcs-backup") == state
    assert binary.calls()[0]["argv"] == ["--no-color", "version", "info", "--json", "backup/dcs-backup"]


def test_versioning_of_a_missing_bucket_fails_with_mcs_message(mc):
    binary, make = mc
    binary.answer(stdout=mc_error("Unable to get versioning info for `backup/x`. Bucket `x` does not exist."), rc=1)
    with pytest.raises(EngineError, match=r"^reading versioning of backup/x failed: Unable to get versioning"):
        make().versioning("x")


def test_make_bucket(mc):
    binary, make = mc
    binary.answer(stdout=line(bucket="backup/restore-1", region="us-east-1"))
    make().make_bucket(BACKUP, "restore-1")
    assert binary.calls()[0]["argv"] == ["--no-color", "mb", "--ignore-existing", "--json", "backup/restore-1"]


def test_scan_lists_with_a_trailing_slash_and_keeps_only_real_md5s(mc):
    binary, make = mc
    binary.answer(stdout=line(type="file", key="a/b.png", size=5, lastModified="2026-11-29T23:44:20.248+01:00",
                              etag="0cc175b9c0f1b6a831c399e269772661")
                  + line(type="folder", key="a/", size=0)
                  + line(type="file", key="big.bin", size=99, lastModified="2026-11-29T23:44:20Z",
                         etag="d41d8cd98f00b204e9800998ecf8427e-3"))
    objects = list(make().scan(Location(BACKUP, "dcs-backup", "books")))
    assert [(o.key, o.size, o.md5) for o in objects] == [("a/b.png", 5, "0cc175b9c0f1b6a831c399e269772661"),
                                                        ("big.bin", 99, None)]  # a multipart ETag is no MD5
    assert objects[0].mtime.isoformat() == "2026-11-29T22:44:20.248000+00:00"
    assert binary.calls()[0]["argv"] == ["--no-color", "ls", "--recursive", "--json", "backup/dcs-backup/books/"]


def test_scan_of_a_missing_bucket_names_it_and_other_errors_fail(mc):
    binary, make = mc
    engine = make()
    binary.answer(stdout=mc_error("Unable to list folder. Bucket `books` does not exist.",
                                  "The specified bucket does not exist"), rc=1)
    with pytest.raises(EngineError, match=r"^bucket books does not exist on source$"):
        list(engine.scan(Location(SOURCE, "books")))
    binary.answer(stdout=line(type="file", key="a", size=1) + mc_error("Unable to list.", "connection reset"), rc=1)
    with pytest.raises(EngineError, match=r"^listing source/books failed: Unable to list. \(connection reset\)$"):
        list(engine.scan(Location(SOURCE, "books")))


def mirror_output() -> str:
    return (line(source="source/books/a.png", target="backup/dcs-backup/books/a.png", size=3, totalCount=1)
            + mc_error("Failed to copy `source/books/bad.bin`.", "Access Denied.")
            + mc_error("Overwrite not allowed for `backup/x/a`. Use `--overwrite` to override this behavior.")
            + line(source="", target="backup/dcs-backup/books/gone.png", size=0)
            + line(total=3, transferred=3, duration=1, speed=3))


@pytest.mark.parametrize(("remove", "overwrite", "flags"), [(False, True, ["--overwrite"]),
                                                            (True, True, ["--overwrite", "--remove"]),
                                                            (False, False, [])])
def test_mirror_argv_and_its_json_read_line_by_line(mc, remove, overwrite, flags):
    binary, make = mc
    binary.answer(stdout=mirror_output(), rc=1)
    result = make(BACKUP_BANDWIDTH="1M").copy(Location(SOURCE, "books"), Location(BACKUP, "dcs-backup", "books"),
                                              remove=remove, overwrite=overwrite, timeout=600)
    [call] = binary.calls()
    assert call["argv"] == ["--no-color", "mirror", "--json", "--skip-errors", *flags, "--limit-upload", "1000000",
                            "source/books", "backup/dcs-backup/books"]
    assert result.keys == ["a.png"] and result.deleted == 1
    expected = ["Failed to copy `source/books/bad.bin`. (Access Denied.)"]
    if overwrite:  # only a restore without overwrite leaves what is present alone without an error
        expected.append("Overwrite not allowed for `backup/x/a`. Use `--overwrite` to override this behavior.")
    assert result.errors == expected
    assert [e.get("source") or e.get("target") for e in result.events] == ["source/books/a.png",
                                                                            "backup/dcs-backup/books/gone.png"]


def test_a_mirror_that_fails_without_an_error_object_fails_with_mcs_last_words(mc):
    binary, make = mc
    binary.answer(stderr="mc: <ERROR> target-secret refused\n", rc=1)
    result = make().copy(Location(SOURCE, "books"), Location(BACKUP, "b"), remove=False, overwrite=True, timeout=600)
    assert result.errors == ["mc exited with 1: mc: <ERROR> ******** refused"]


def test_delete_keys_names_each_object_in_batches_and_counts_mcs_answers(mc):
    binary, make = mc
    binary.answer(stdout=json.dumps({"status": "success", "key": "source/books/run/a.txt"}, indent=1) + "\n"
                  + mc_error("Failed to remove `source/books/run/gone.txt`.", "Object does not exist."), rc=1)
    keys = [f"k{i}" for i in range(RM_BATCH + 1)]
    result = make().delete_keys(Location(SOURCE, "books", "run"), keys, 60)
    calls = binary.calls()
    assert [c["argv"][:3] for c in calls] == [["--no-color", "rm", "--json"]] * 2
    assert calls[0]["argv"][3:] == [f"source/books/run/{k}" for k in keys[:RM_BATCH]]
    assert calls[1]["argv"][3:] == [f"source/books/run/{keys[-1]}"]
    assert "--recursive" not in calls[0]["argv"]  # a name that is a folder is refused, never emptied
    assert result.deleted == 2 and len(result.errors) == 2
    assert result.errors[0] == "Failed to remove `source/books/run/gone.txt`. (Object does not exist.)"


def test_an_object_is_read_with_cat(mc):
    binary, make = mc
    binary.answer(stdout="the bytes")
    assert make().sha256(Location(BACKUP, "dcs-backup", "books"), "a b.png") == (
        hashlib.sha256(b"the bytes").hexdigest(), 9)
    assert binary.calls()[0]["argv"] == ["--no-color", "cat", "backup/dcs-backup/books/a b.png"]
    binary.answer(stderr="mc: <ERROR> Object does not exist.\n", rc=1)
    with pytest.raises(EngineError, match=r"^reading backup/dcs-backup/books/a b.png failed: mc: <ERROR> Object"):
        make().sha256(Location(BACKUP, "dcs-backup", "books"), "a b.png")


def test_require_binary_runs_the_mc_double_whatever_its_file_name(make_config, tmp_path):
    directory = tmp_path / "bin"
    directory.mkdir(mode=0o755)
    path = mc_double.install(directory, REPO, name="mcli")
    config = make_config(MC_PATH=str(path))
    engine = McEngine(config, Scrubber(config.secrets))
    try:
        assert engine.require_binary().startswith("mcli version RELEASE.")
        assert engine.binary() == str(path)
    finally:
        engine.close()


def test_require_binary_refuses_midnight_commander_and_binaries_others_can_write(mc, tmp_path):
    binary, make = mc
    binary.answer(stdout="GNU Midnight Commander 4.8.29\n")
    with pytest.raises(ConfigError, match="Debian's 'mc' package is Midnight Commander"):
        make().require_binary()
    binary.path.chmod(0o757)
    with pytest.raises(ConfigError, match="writable by group or others; refused"):
        make().require_binary()
    with pytest.raises(ConfigError, match="is missing or not executable"):
        make(MC_PATH=str(tmp_path / "absent")).require_binary()
