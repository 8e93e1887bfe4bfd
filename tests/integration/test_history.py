"""History of the backup: `versions`, `ls --as-of`, `restore --as-of` / `--version-id`, the target's
lifecycle and lock in `check`, `restorable_since` in the drill; both engines, real SeaweedFS."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from minio.commonconfig import ENABLED, GOVERNANCE, Filter
from minio.lifecycleconfig import LifecycleConfig, NoncurrentVersionExpiration, Rule
from minio.objectlockconfig import DAYS, ObjectLockConfig
from minio.versioningconfig import VersioningConfig

from tests.integration.conftest import sha256
from tests.support import history
from tests.support.mc_double_history import parse_rewind
from tests.support.program import REPO

ENGINES = ["rclone", "mc"]


class Story:
    """A books bucket backed up twice: between the runs `a.txt` was damaged in production (same size),
    `b.txt` deleted (and, with BACKUP_REMOVE, in the backup too: a delete marker) and `new.txt` created.
    ``t1`` is the second of the first run's versions, ``t2`` the second of the second run's."""

    def __init__(self, d):
        self.d = d
        self.books = d.buckets[0]
        self.first = {"a.txt": os.urandom(3000), "b.txt": b"bee " * 100, "dir/c.txt": b"sea " * 50}
        for key, body in self.first.items():
            d.put(self.books, key, body, content_type="text/plain")
        assert d.run().code == 0
        prefix = d.backup_key(self.books, "") + "/"
        self.t1 = history.newest(d.dst, d.target_bucket, prefix)
        history.wait_past(d.dst, f"clock-{d.token}", self.t1)
        self.damaged = bytes(b ^ 0xFF for b in self.first["a.txt"][:64]) + self.first["a.txt"][64:]
        d.put(self.books, "a.txt", self.damaged)
        d.src.remove_object(self.books, "b.txt")
        d.put(self.books, "new.txt", b"new")
        d.write_env(BACKUP_REMOVE="true")
        assert d.run().code == 0
        self.t2 = history.newest(d.dst, d.target_bucket, prefix)
        assert self.t2 > self.t1

    def backup_versions(self, key: str) -> list:
        return history.versions(self.d.dst, self.d.target_bucket, self.d.backup_key(self.books, key))


def keys(client, bucket: str) -> set[str]:
    return {o.object_name for o in client.list_objects(bucket, recursive=True)}


def restore(d, *args):
    run = d.run("restore", "--json", *args)
    return run, (json.loads(run.stdout) if run.stdout.strip().startswith("{") else {})


@pytest.mark.parametrize("engine", ENGINES)
def test_as_of_restores_each_key_as_it_was_into_a_new_bucket_and_in_place(deploy, engine):
    d = deploy(engine)
    s = Story(d)
    fresh = f"asof-{d.token}"
    # T exactly equal to the first run's second: inclusive, so the first versions are restored.
    run, doc = restore(d, "--bucket", s.books, "--to-bucket", fresh, "--as-of", history.rfc3339(s.t1),
                       "--verify-content")
    assert run.code == 0, run.stdout + run.stderr
    assert keys(d.src, fresh) == {"a.txt", "b.txt", "dir/c.txt"}  # new.txt was created after T
    for key, body in s.first.items():
        assert sha256(d.read(fresh, key)) == sha256(body), key
    assert doc["restored"] == 3 and doc["failed"] == 0 and doc["as_of"] == history.rfc3339(s.t1)
    assert [r["message"] for r in run.log] == ["Starting restore", "Completed restore"]

    # In place: the damaged same-size a.txt is replaced only with --overwrite; nothing is deleted.
    run, doc = restore(d, "--bucket", s.books, "--as-of", history.rfc3339(s.t1))
    assert run.code == 0 and d.read(s.books, "a.txt") == s.damaged
    assert doc["restored"] == 1  # b.txt, deleted in production, comes back
    run, doc = restore(d, "--bucket", s.books, "--as-of", history.rfc3339(s.t1), "--overwrite", "--verify-content")
    assert run.code == 0, run.stdout + run.stderr
    assert d.read(s.books, "a.txt") == s.first["a.txt"] and d.read(s.books, "b.txt") == s.first["b.txt"]
    assert d.read(s.books, "new.txt") == b"new"


@pytest.mark.parametrize("engine", ENGINES)
def test_delete_marker_at_t_and_keys_created_after_t(deploy, engine):
    d = deploy(engine)
    s = Story(d)
    marker = [v for v in s.backup_versions("b.txt") if v.is_delete_marker]
    assert marker, "the second run should leave a delete marker for b.txt"
    late = f"late-{d.token}"
    # T equal to the second run's second: the delete marker and new.txt are both "at or before T".
    run, _ = restore(d, "--bucket", s.books, "--to-bucket", late, "--as-of", history.rfc3339(s.t2))
    assert run.code == 0, run.stdout + run.stderr
    assert keys(d.src, late) == {"a.txt", "dir/c.txt", "new.txt"}
    assert d.read(late, "a.txt") == s.damaged
    # One second earlier, still after the first run: the first versions, no new.txt.
    early = f"early-{d.token}"
    run, _ = restore(d, "--bucket", s.books, "--to-bucket", early, "--as-of",
                     history.rfc3339(s.t2 - timedelta(seconds=1)))
    assert run.code == 0
    assert keys(d.src, early) == {"a.txt", "b.txt", "dir/c.txt"}
    # Before the first backup: nothing existed; refused at run time and no bucket made.
    never = f"never-{d.token}"
    run, _ = restore(d, "--bucket", s.books, "--to-bucket", never, "--as-of",
                     history.rfc3339(s.t1 - timedelta(days=1)))
    assert run.code == 1 and "nothing to restore" in run.last("Restore failed")["reason"]
    assert not d.src.bucket_exists(never)


@pytest.mark.parametrize("engine", ENGINES)
def test_dry_run_lists_the_chosen_version_ids_and_writes_nothing(deploy, engine):
    d = deploy(engine)
    s = Story(d)
    fresh = f"dry-{d.token}"
    run = d.run("restore", "--json", "--dry-run", "--bucket", s.books, "--to-bucket", fresh,
                "--as-of", history.rfc3339(s.t1))
    assert run.code == 0, run.stderr
    doc = json.loads(run.stdout)
    rows = {r["key"]: r for r in doc["versions"]}
    assert set(rows) == {"a.txt", "b.txt", "dir/c.txt"}
    first_a = s.backup_versions("a.txt")[-1]
    assert rows["a.txt"]["size"] == 3000 and rows["a.txt"]["last_modified"] == history.rfc3339(first_a.last_modified)
    if engine == "mc":
        assert rows["a.txt"]["version_id"] == first_a.version_id
    else:
        assert rows["a.txt"]["version_id"] == "v" + first_a.last_modified.strftime("%Y-%m-%d-%H%M%S-000")
    assert not d.src.bucket_exists(fresh)
    text = d.run("restore", "--dry-run", "--bucket", s.books, "--to-bucket", fresh, "--as-of", history.rfc3339(s.t1))
    assert rows["a.txt"]["version_id"] in text.stdout and "version id" in text.stdout


@pytest.mark.parametrize("engine", ENGINES)
def test_version_id_restores_exactly_that_version_and_unknown_ids_are_refused(deploy, engine):
    d = deploy(engine)
    s = Story(d)
    listing = d.run("versions", "--bucket", s.books, "--prefix", "a.txt", "--json")
    assert listing.code == 0, listing.stderr
    doc = json.loads(listing.stdout)
    (entry,) = doc["keys"]
    assert entry["key"] == "a.txt" and len(entry["versions"]) == 2
    oldest = entry["versions"][-1]
    fresh = f"vid-{d.token}"
    run, doc = restore(d, "--bucket", s.books, "--prefix", "a.txt", "--version-id", oldest["version_id"],
                          "--to-bucket", fresh, "--verify-content")
    assert run.code == 0, run.stdout + run.stderr
    assert keys(d.src, fresh) == {"a.txt"} and d.read(fresh, "a.txt") == s.first["a.txt"]
    assert doc["restored"] == 1 and doc["versions"][0]["version_id"] == oldest["version_id"]

    other = f"vid-none-{d.token}"
    bad = d.run("restore", "--bucket", s.books, "--prefix", "a.txt", "--version-id", "no-such-version",
                "--to-bucket", other)
    assert bad.code == 2
    assert "no-such-version" in bad.stderr and "not in the backup" in bad.stderr
    assert not d.src.bucket_exists(other)
    folder = d.run("restore", "--bucket", s.books, "--prefix", "dir/", "--version-id", oldest["version_id"],
                   "--to-bucket", other)
    assert folder.code == 2 and "exactly one key" in folder.stderr and not d.src.bucket_exists(other)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("when", ["yesterday", "2026-13-01", "5x", "-3h", "2026.11.28", ""])
def test_a_wrong_point_in_time_is_refused_before_anything_is_written(deploy, engine, when):
    d = deploy(engine)
    books = d.buckets[0]
    d.put(books, "a.txt", b"a")
    assert d.run().code == 0
    fresh = f"wrong-{d.token}"
    run = d.run("restore", "--bucket", books, "--to-bucket", fresh, f"--as-of={when}")
    assert run.code == 2
    assert "accepted: RFC 3339" in run.stderr and "duration back from now" in run.stderr
    assert len([line for line in run.stderr.splitlines() if "accepted" in line]) == 1
    assert not d.src.bucket_exists(fresh)
    assert "Starting restore" not in run.messages()
    listing = d.run("ls", "backup", books, f"--as-of={when}")
    assert listing.code == 2 and "accepted: RFC 3339" in listing.stderr


@pytest.mark.parametrize("engine", ENGINES)
def test_versions_and_ls_as_of_show_the_history(deploy, engine):
    d = deploy(engine)
    s = Story(d)
    run = d.run("versions", "--bucket", s.books, "--json")
    assert run.code == 0, run.stderr
    doc = {k["key"]: k["versions"] for k in json.loads(run.stdout)["keys"]}
    assert set(doc) == {"a.txt", "b.txt", "dir/c.txt", "new.txt"}
    assert [v["size"] for v in doc["a.txt"]] == [3000, 3000]
    assert [v["current"] for v in doc["a.txt"]] == [True, False]
    assert doc["a.txt"][0]["last_modified"] > doc["a.txt"][1]["last_modified"]  # newest first
    assert doc["b.txt"][0]["delete_marker"] and doc["b.txt"][0]["current"]
    assert not doc["b.txt"][1]["delete_marker"] and doc["b.txt"][1]["size"] == 400
    if engine == "mc":
        assert {v["version_id"] for v in doc["a.txt"]} == {v.version_id for v in s.backup_versions("a.txt")}
    text = d.run("versions", "--bucket", s.books, "--prefix", "dir/")
    assert text.code == 0 and "dir/c.txt: 1 versions, current" in text.stdout

    then = d.run("ls", "backup", s.books, "--as-of", history.rfc3339(s.t1), "--json")
    assert then.code == 0, then.stderr
    listed = {o["key"]: o["size"] for o in json.loads(then.stdout)}
    assert listed == {"a.txt": 3000, "b.txt": 400, "dir/c.txt": 200}
    first_a = {o["key"]: o["version_id"] for o in json.loads(then.stdout)}["a.txt"]
    assert first_a == [v["version_id"] for v in doc["a.txt"]][-1]  # the older of a.txt's two versions
    now = d.run("ls", "backup", s.books, "--json")
    assert {o["key"] for o in json.loads(now.stdout)} == {"a.txt", "dir/c.txt", "new.txt"}
    refused = d.run("ls", "source", s.books, "--as-of", "1d")
    assert refused.code == 2 and "ls backup" in refused.stderr


@pytest.mark.parametrize("engine", ENGINES)
def test_in_place_overwrite_of_a_damaged_same_size_object(deploy, engine):
    d = deploy(engine)
    books = d.buckets[0]
    body = os.urandom(5000)
    d.put(books, "book-1/page.png", body)
    assert d.run().code == 0
    damaged = bytes(b ^ 0x55 for b in body)  # same size, newer than its backup copy
    d.put(books, "book-1/page.png", damaged)
    run, doc = restore(d, "--bucket", books, "--prefix", "book-1/", "--overwrite", "--verify-content")
    assert run.code == 0, run.stdout + run.stderr
    assert doc["restored"] == 1 and d.read(books, "book-1/page.png") == body


def lock_target(d) -> str:
    bucket = f"locked-{d.token}"
    d.dst.make_bucket(bucket, object_lock=True)
    d.dst.set_bucket_versioning(bucket, VersioningConfig(ENABLED))
    d.dst.set_object_lock_config(bucket, ObjectLockConfig(GOVERNANCE, 30, DAYS))
    d.dst.set_bucket_lifecycle(bucket, LifecycleConfig([Rule(
        ENABLED, rule_filter=Filter(prefix=""), rule_id="history",
        noncurrent_version_expiration=NoncurrentVersionExpiration(noncurrent_days=90, newer_noncurrent_versions=3))]))
    return bucket


def checks_of(run) -> dict:
    return {c["check"]: c for c in json.loads(run.stdout)["checks"]}


@pytest.mark.parametrize("engine", ENGINES)
def test_check_shows_versioning_lifecycle_and_lock(deploy, engine):
    d = deploy(engine)
    plain = d.run("check", "--json")
    found = checks_of(plain)
    assert found["target versioning"]["detail"] == "Enabled"
    text = d.run("check")
    lines = {line.split("  ")[0]: line for line in text.stdout.splitlines()}
    assert "target lifecycle" in lines and "target object lock" in lines
    if engine == "rclone":
        assert found["target lifecycle"]["detail"] == "unknown (engine rclone cannot read it)"
        assert found["target object lock"]["detail"] == "unknown (engine rclone cannot read it)"
        return
    assert found["target lifecycle"].get("warning") and "grow without bound" in found["target lifecycle"]["detail"]
    assert "WARN" in lines["target lifecycle"] and found["target object lock"]["detail"] == "off"
    assert plain.code == 0
    d.write_env(BACKUP_TARGET_BUCKET=lock_target(d))
    locked = checks_of(d.run("check", "--json"))
    assert locked["target lifecycle"]["lifecycle"] == {"noncurrent_days": 90, "keep_newer": 3}
    assert locked["target lifecycle"]["detail"] == "noncurrent versions expire after 90 days, keep the 3 newest"
    assert not locked["target lifecycle"].get("warning")
    assert locked["target object lock"]["object_lock"] == {"mode": "GOVERNANCE", "days": 30}


@pytest.mark.parametrize("engine", ENGINES)
def test_drill_records_restorable_since(deploy, engine):
    d = deploy(engine)
    s = Story(d)
    run = d.run("drill", "--bucket", s.books, "--json")
    assert run.code == 0, run.stdout + run.stderr
    first = min(v.last_modified for v in history.versions(d.dst, d.target_bucket, d.backup_key(s.books, "")))
    (bucket,) = json.loads(run.stdout)["buckets"]
    assert bucket["restorable_since"] == history.rfc3339(first)
    record = json.loads((d.root / "minio-restore-drill.log").read_text().splitlines()[-1])
    assert record["buckets"][0]["restorable_since"] == history.rfc3339(first)


@pytest.mark.parametrize("engine", ENGINES)
def test_no_secret_in_history_output_logs_or_argv(deploy, engine):
    d = deploy(engine)
    s = Story(d)
    runs = [d.run("versions", "--bucket", s.books), d.run("ls", "backup", s.books, "--as-of", "1d"),
            d.run("restore", "--bucket", s.books, "--to-bucket", f"sec-{d.token}", "--as-of", history.rfc3339(s.t1),
                  "--verify-content"),
            d.run("restore", "--bucket", s.books, "--as-of", "nonsense"), d.run("check")]
    assert [r.code for r in runs] == [0, 0, 0, 2, 0]
    for secret in d.secrets:
        assert secret not in d.recorded_argv()
        assert secret not in d.log_path.read_text()
        assert all(secret not in r.stdout + r.stderr for r in runs)


# --- the mc double follows mc's --rewind: strictly before T, dotted forms in the LOCAL time zone ------

def run_double(d, *args, tz: str = "UTC") -> subprocess.CompletedProcess:
    env = {"PATH": os.environ["PATH"], "HOME": str(d.root), "TZ": tz, "MC_CONFIG_DIR": str(d.root / "mcconf"),
           "MC_HOST_backup": f"http://{d.offsite.access_key}:{d.offsite.secret_key}@{d.offsite.hostport}"}
    return subprocess.run([str(d.mc), "--json", *args], capture_output=True, text=True, env=env, timeout=120,
                          check=False)


def test_mc_double_rewind_is_strictly_before_and_local(deploy):
    d = deploy("mc")
    bucket = f"rewind-{d.token}"
    d.dst.make_bucket(bucket)
    d.dst.set_bucket_versioning(bucket, VersioningConfig(ENABLED))
    d.dst.put_object(bucket, "k", io.BytesIO(b"one"), 3)
    t1 = history.newest(d.dst, bucket)
    history.wait_past(d.dst, f"clock-{d.token}", t1)
    d.dst.put_object(bucket, "k", io.BytesIO(b"two!"), 4)
    t2 = history.newest(d.dst, bucket)

    def sizes(rewind: str, tz: str = "UTC") -> list[int]:
        done = run_double(d, "ls", "--recursive", "--rewind", rewind, f"backup/{bucket}/", tz=tz)
        assert done.returncode == 0, done.stdout + done.stderr
        return [json.loads(line)["size"] for line in done.stdout.splitlines()]

    assert sizes(history.rfc3339(t2)) == [3]  # the version AT T2 is not before T2
    assert sizes(history.rfc3339(t2 + timedelta(seconds=1))) == [4]
    assert sizes(history.rfc3339(t1)) == []
    # Dotted forms are local time: in Kolkata (UTC+05:30) t2+1s is written 5h30 later.
    kolkata = (t2 + timedelta(seconds=1, hours=5, minutes=30)).strftime("%Y.%m.%dT%H:%M:%S")
    assert sizes(kolkata, tz="Asia/Kolkata") == [4]
    assert sizes(kolkata, tz="UTC") == [4]  # 5h30 later in UTC is after both versions too
    local_t2 = (t2 + timedelta(hours=5, minutes=30)).strftime("%Y.%m.%dT%H:%M:%S")
    assert sizes(local_t2, tz="Asia/Kolkata") == [3]
    versions = run_double(d, "ls", "--versions", "--recursive", f"backup/{bucket}/")
    lines = [json.loads(line) for line in versions.stdout.splitlines()]
    assert [(x["size"], x["versionOrdinal"]) for x in lines] == [(4, 2), (3, 1)]
    for bad in ("-1h", "yesterday", "2026/11/28"):
        done = run_double(d, "ls", "--rewind", bad, f"backup/{bucket}/")
        assert done.returncode == 1 and '"fatal"' in done.stdout


def test_mc_rewind_parser_reads_dotted_forms_in_the_local_zone():
    code = ("from tests.support.mc_double_history import parse_rewind;"
            "print(parse_rewind('2026.11.28T06:30').isoformat())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={"PATH": os.environ["PATH"], "TZ": "Asia/Kolkata", "PYTHONPATH": str(REPO)})
    assert done.stdout.strip() == "2026-11-28T06:30:00+05:30"
    assert parse_rewind("2026-11-28T01:00:00Z").isoformat() == "2026-11-28T01:00:00+00:00"
