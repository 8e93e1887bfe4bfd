"""What the operator sees: every object an engine copies or deletes is a `Mirror event` in the log,
every run that ends non-zero leaves its line in the primary log, its metrics and its /fail ping, a
failure that stops every bucket names every bucket, and the region and provider reach the engine."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.http_files import FileServer
from tests.support.program import RCLONE

PING = "/ping/visible"


def pings_server() -> FileServer:
    return FileServer({PING: b"OK", PING + "/start": b"OK", PING + "/fail": b"OK"})


def metric(path: Path, name: str, bucket: str | None = None) -> str | None:
    labels = f'{{bucket="{bucket}"}}' if bucket else ""
    match = re.search(rf"^{re.escape(name + labels)} (\S+)$", path.read_text(), re.MULTILINE)
    return match.group(1) if match else None


def log_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def assert_no_secret(d, *texts: str) -> None:
    for secret in d.secrets:
        for text in texts:
            assert secret not in text


# --- 1. Mirror events ---------------------------------------------------------------------------

@pytest.mark.parametrize("engine", ["rclone", "mc"])
def test_each_copied_and_deleted_object_is_a_mirror_event(deploy, engine):
    d = deploy(engine, BACKUP_REMOVE="true")
    books = d.buckets[0]
    keys = {"book-1/config.json", "book-1/cover page.png", "book-2/ünï.txt"}
    for key in keys:
        d.put(books, key, key.encode() * 3)
    first = d.run()
    assert first.code == 0, first.stderr
    events = [r for r in first.log if r["message"] == "Mirror event"]
    assert {r["bucket"] for r in events} == {books}
    if engine == "rclone":
        # rclone's own JSON log entry, as it printed it
        assert {e["event"]["object"] for e in events} == keys
        assert all(e["event"]["msg"].startswith("Copied") and e["event"]["level"] == "info" for e in events)
    else:
        # mc's own JSON object, as it printed it
        assert {e["event"]["source"] for e in events} == {f"source/{books}/{k}" for k in keys}
        assert all(e["event"]["status"] == "success" and e["event"]["target"].endswith(
            e["event"]["source"].split("/", 2)[2]) for e in events)
    assert first.messages(books).index("Completed mirror") > first.messages(books).index("Mirror event")

    unchanged = d.run()
    assert unchanged.code == 0
    assert "Mirror event" not in unchanged.messages()

    d.src.remove_object(books, "book-2/ünï.txt")
    removed = d.run()
    assert removed.code == 0
    deleted = [r["event"] for r in removed.log if r["message"] == "Mirror event"]
    assert len(deleted) == 1
    if engine == "rclone":
        assert deleted[0]["object"] == "book-2/ünï.txt" and deleted[0]["msg"].startswith("Deleted")
    else:
        assert deleted[0]["source"] == "" and deleted[0]["target"].endswith(f"{books}/book-2/ünï.txt")
    assert_no_secret(d, d.log_path.read_text(), first.stderr, removed.stderr)


# rclone as it is, except that a copy's log is held after its first "Copied" entry until a file exists:
# the test can look at the program's log while the engine is still in the middle of the copy.
HOLDING_RCLONE = """#!{python}
import os, subprocess, sys, time
argv = [{rclone!r}, *sys.argv[1:]]
if sys.argv[1:2] not in (["copy"], ["sync"]):
    os.execv(argv[0], argv)
child = subprocess.Popen(argv, stderr=subprocess.PIPE)
held = False
for line in child.stderr:
    sys.stderr.buffer.write(line)
    sys.stderr.buffer.flush()
    if not held and b'"Copied' in line:
        held = True
        while not os.path.exists({release!r}):
            time.sleep(0.05)
sys.exit(child.wait())
"""


def test_mirror_events_are_logged_while_the_engine_still_copies(deploy, tmp_path):
    """The engine's log is read as it is written (a first backup of a million objects never holds it
    whole): the first object's event is in the log while the engine holds back the rest of its log."""
    d = deploy("rclone")
    books = d.buckets[0]
    for key in ("a.txt", "b.txt", "c.txt"):
        d.put(books, key, key.encode())
    release = tmp_path / "release"
    d.rclone.write_text(HOLDING_RCLONE.format(python=sys.executable, rclone=RCLONE, release=str(release)))
    running = d.start("--bucket", books)
    running.wait_for_log("Mirror event", books)
    assert [r["message"] for r in running.log() if r.get("bucket") == books] == ["Starting mirror", "Mirror event"]
    release.touch()
    run = running.finish()
    assert run.code == 0, run.stderr
    assert run.messages(books) == ["Starting mirror", *["Mirror event"] * 3, "Completed mirror"]


# --- 2. Every run that ends non-zero is visible -------------------------------------------------

def test_missing_env_file_reaches_the_log_metrics_and_ping_named_in_the_environment(deploy, tmp_path):
    with pings_server() as pings:
        d = deploy()
        metrics = tmp_path / "metrics.prom"
        d.env_file.unlink()
        run = d.run(env={"MINIO_BACKUP_LOG": str(d.log_path), "BACKUP_METRICS_FILE": str(metrics),
                         "BACKUP_HEALTHCHECK_URL": pings.base + PING})
        assert run.code == 2
        failed = run.last("Backup failed")
        assert failed["level"] == "ERROR" and "does not exist" in failed["reason"]
        assert metric(metrics, "dream_backup_exit_code") == "2"
        assert float(metric(metrics, "dream_backup_last_run_timestamp_seconds")) > time.time() - 600
        assert [r.path for r in pings.requests] == [PING + "/fail"]
        assert b"does not exist" in pings.requests[0].body


def test_invalid_env_file_still_names_the_log_metrics_and_ping(deploy, tmp_path):
    with pings_server() as pings:
        metrics = tmp_path / "metrics.prom"
        d = deploy(BACKUP_METRICS_FILE=str(metrics), BACKUP_HEALTHCHECK_URL=pings.base + PING)
        d.put(d.buckets[0], "doc.txt", b"data")
        assert d.run().code == 0
        pings.requests.clear()
        d.write_env(BACKUP_TIMEOUT="soon", BACKUP_TARGET_SECRET_KEY="invalid-but-secret-value-xyz")
        run = d.run()
        assert run.code == 2
        failed = run.last("Backup failed")
        assert "BACKUP_TIMEOUT" in failed["reason"]
        # the buckets it was asked to back up are named, each failed
        assert {r["bucket"] for r in run.log if r["message"] == "Mirror failed"} == set(d.buckets)
        assert metric(metrics, "dream_backup_exit_code") == "2"
        assert metric(metrics, "dream_backup_bucket_success", d.buckets[0]) == "0"
        assert [r.path for r in pings.requests] == [PING + "/fail"]
        assert_no_secret(d, d.log_path.read_text(), run.stderr)
        assert "invalid-but-secret-value-xyz" not in d.log_path.read_text() + run.stderr


def test_log_path_flag_and_environment_take_precedence_over_the_env_file(deploy, tmp_path):
    d = deploy()
    d.write_env(BACKUP_ENGINE="none")
    flagged = tmp_path / "manual.log"
    run = d.run("--log-path", str(flagged))
    assert run.code == 2 and run.log == []
    assert log_lines(flagged)[-1]["message"] == "Backup failed"
    from_env = tmp_path / "from-env.log"
    assert d.run(env={"MINIO_BACKUP_LOG": str(from_env)}).code == 2
    assert "BACKUP_ENGINE" in log_lines(from_env)[-1]["reason"]


def test_unwritable_metrics_directory_is_logged_and_pinged(deploy, tmp_path):
    with pings_server() as pings:
        d = deploy(BACKUP_METRICS_FILE=str(tmp_path / "no-such-dir" / "dream.prom"),
                   BACKUP_HEALTHCHECK_URL=pings.base + PING)
        run = d.run()
        assert run.code == 2
        assert "metrics directory" in run.last("Backup failed")["reason"]
        assert "Metrics not written" in run.messages()
        assert [r.path for r in pings.requests] == [PING + "/fail"]


def test_other_commands_log_their_refusal(deploy):
    d = deploy()
    d.write_env(BACKUP_TIMEOUT="soon")
    run = d.run("drill")
    assert run.code == 2
    assert run.log[-1]["message"] == "Drill failed" and "BACKUP_TIMEOUT" in run.log[-1]["reason"]


def test_bad_arguments_are_logged(deploy):
    d = deploy()
    run = d.run("--no-such-flag")
    assert run.code == 2 and "unrecognized arguments" in run.stderr
    assert run.last("Backup failed")["reason"].startswith("bad arguments")


def test_read_only_commands_that_end_non_zero_log_why(deploy):
    d = deploy()
    d.write_env(BACKUP_TARGET_SECRET_KEY="not-the-right-secret-" + "z" * 10)
    check = d.run("check")
    assert check.code == 1
    assert check.log[-1]["message"] == "Check failed" and f"target bucket {d.target_bucket}" in check.log[-1]["reason"]
    # books/ may or may not exist on the shared server: either way the book is not there
    inspected = d.run("inspect-book", f"no-such-book-{d.token}")
    assert inspected.code == 1
    last = inspected.log[-1]
    assert last["message"] == "Book inspection failed"
    assert "holds no objects" in last["reason"] or "does not exist" in last["reason"]


def test_failed_dry_run_is_logged_but_touches_no_metrics_or_healthcheck(deploy, tmp_path):
    with pings_server() as pings:
        metrics = tmp_path / "metrics.prom"
        d = deploy(BACKUP_METRICS_FILE=str(metrics), BACKUP_HEALTHCHECK_URL=pings.base + PING)
        d.write_env(BACKUP_TIMEOUT="soon")
        refused = d.run("--dry-run")
        assert refused.code == 2
        assert refused.last("Backup failed")["dry_run"] is True
        d.write_env(BACKUP_TIMEOUT="6h", MINIO_BACKUP_BUCKETS=",".join([*d.buckets, "gone-" + d.token]))
        failed = d.run("--dry-run")
        assert failed.code == 1
        line = failed.last("Backup failed")
        assert line["dry_run"] is True and "gone-" + d.token in line["reason"]
        assert "Mirror failed" not in refused.messages() + failed.messages()
        assert not metrics.exists() and pings.requests == []


class HeldLock:
    """Another process holding the writers' lock, as a running backup does (its pid in the file)."""

    def __init__(self, path: Path):
        self.path = path
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "import fcntl, os, sys\n"
             f"fd = os.open({str(path)!r}, os.O_RDWR | os.O_CREAT, 0o600)\n"
             "fcntl.flock(fd, fcntl.LOCK_EX)\nos.ftruncate(fd, 0)\nos.pwrite(fd, f'{os.getpid()}\\n'.encode(), 0)\n"
             "print('held', flush=True)\nsys.stdin.read()\n"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "held"

    def age(self, seconds: float) -> None:
        when = time.time() - seconds
        os.utime(self.path, (when, when))

    def release(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(60)


def test_lock_held_updates_metrics_and_pings_fail_only_when_stale(deploy, tmp_path):
    with pings_server() as pings:
        metrics = tmp_path / "metrics.prom"
        d = deploy(BACKUP_METRICS_FILE=str(metrics), BACKUP_HEALTHCHECK_URL=pings.base + PING,
                   BACKUP_LOCK_STALE_AFTER="2h")
        d.put(d.buckets[0], "doc.txt", b"data")
        held = HeldLock(d.root / "dream-backup.lock")
        try:
            held.age(3600)
            fresh = d.run()
            assert fresh.code == 75
            line = fresh.last("Backup skipped: another run is in progress")
            assert line["level"] == "WARNING" and line["pid"] == held.proc.pid and line["stale"] is False
            assert metric(metrics, "dream_backup_exit_code") == "75"
            assert pings.requests == []
            held.age(3 * 3600)
            stale = d.run()
            assert stale.code == 75
            assert stale.last("Backup skipped: another run is in progress")["stale"] is True
            assert [r.path for r in pings.requests] == [PING + "/fail"]
            assert str(held.proc.pid).encode() in pings.requests[0].body
        finally:
            held.release()
        assert list(d.dst.list_objects(d.target_bucket, recursive=True)) == []
        assert d.run().code == 0
        assert metric(metrics, "dream_backup_exit_code") == "0"


def test_lock_stale_after_defaults_to_timeout_plus_an_hour(deploy):
    with pings_server() as pings:
        d = deploy(BACKUP_HEALTHCHECK_URL=pings.base + PING, BACKUP_TIMEOUT="1h")
        held = HeldLock(d.root / "dream-backup.lock")
        try:
            held.age(90 * 60)
            assert d.run().code == 75
            assert pings.requests == []
            held.age(150 * 60)
            assert d.run().code == 75
            assert [r.path for r in pings.requests] == [PING + "/fail"]
        finally:
            held.release()


def test_invalid_lock_stale_after_is_refused(deploy):
    d = deploy(BACKUP_LOCK_STALE_AFTER="a while")
    run = d.run()
    assert run.code == 2 and "BACKUP_LOCK_STALE_AFTER" in run.last("Backup failed")["reason"]


# --- 3. A failure of every bucket names every bucket --------------------------------------------

@pytest.mark.parametrize("engine", ["rclone", "mc"])
def test_wrong_target_secret_fails_every_bucket_by_name(deploy, engine, tmp_path):
    metrics = tmp_path / "metrics.prom"
    d = deploy(engine, BACKUP_METRICS_FILE=str(metrics))
    d.put(d.buckets[0], "doc.txt", b"data")
    assert d.run().code == 0
    assert metric(metrics, "dream_backup_bucket_success", d.buckets[0]) == "1"
    d.write_env(BACKUP_TARGET_SECRET_KEY="not-the-right-secret-" + "y" * 10)
    run = d.run()
    assert run.code == 1
    failed = {r["bucket"]: r["reason"] for r in run.log if r["message"] == "Mirror failed"}
    assert set(failed) == set(d.buckets)
    assert all(reason == run.last("Backup failed")["reason"] for reason in failed.values())
    for bucket in d.buckets:
        assert metric(metrics, "dream_backup_bucket_success", bucket) == "0"
    assert "not-the-right-secret" not in d.log_path.read_text()


def test_unversioned_target_fails_every_bucket_by_name(deploy, tmp_path):
    metrics = tmp_path / "metrics.prom"
    d = deploy(BACKUP_METRICS_FILE=str(metrics))
    plain = "plain-" + d.token
    d.dst.make_bucket(plain)
    d.write_env(BACKUP_TARGET_BUCKET=plain)
    run = d.run("--bucket", d.buckets[1])
    assert run.code == 2
    assert [(r["bucket"], "versioning" in r["reason"]) for r in run.log if r["message"] == "Mirror failed"] \
        == [(d.buckets[1], True)]
    assert metric(metrics, "dream_backup_bucket_success", d.buckets[1]) == "0"
    assert metric(metrics, "dream_backup_bucket_success", d.buckets[0]) is None


def test_missing_engine_fails_every_bucket_by_name(deploy, tmp_path):
    with pings_server() as pings:
        metrics = tmp_path / "metrics.prom"
        d = deploy("mc", MC_PATH="/nonexistent/mc", BACKUP_METRICS_FILE=str(metrics),
                   BACKUP_HEALTHCHECK_URL=pings.base + PING)
        run = d.run()
        assert run.code == 2
        assert {r["bucket"] for r in run.log if r["message"] == "Mirror failed"} == set(d.buckets)
        assert metric(metrics, "dream_backup_exit_code") == "2"
        assert [r.path for r in pings.requests] == [PING + "/fail"]


# --- 4. A value may equal a command's name ------------------------------------------------------

def test_bucket_named_like_a_command_is_backed_up_not_run_as_command(deploy):
    d = deploy()
    run = d.run("--bucket", "check")
    assert run.code == 1
    assert run.last("Mirror failed")["bucket"] == "check"
    assert "does not exist" in run.last("Mirror failed")["reason"]


def test_ls_of_a_bucket_named_like_a_command(deploy):
    d = deploy()
    d.put(d.buckets[0], "ls/backup", b"x")
    assert d.run().code == 0
    run = d.run("ls", "backup", f"{d.buckets[0]}/ls")
    assert run.code == 0 and "backup" in run.stdout and "1 objects" in run.stdout


# --- 5. Region and provider ---------------------------------------------------------------------

def test_regions_and_provider_reach_rclone(deploy, tmp_path):
    d = deploy()
    recorded = tmp_path / "rclone-env"
    wrapper = tmp_path / "rclone-recording-env"
    # Records only the region and provider variables (never a secret), then runs the real rclone.
    wrapper.write_text("#!/bin/sh\nenv | grep -E '^RCLONE_CONFIG_[A-Z]+_(REGION|PROVIDER)=' "
                       f">> {recorded}\nexec {RCLONE} \"$@\"\n")
    wrapper.chmod(0o755)
    d.write_env(RCLONE_PATH=str(wrapper), MINIO_SOURCE_REGION="eu-west-3", BACKUP_TARGET_REGION="fr-par",
                BACKUP_S3_PROVIDER="SeaweedFS")
    d.put(d.buckets[0], "doc.txt", b"regional")
    run = d.run()
    assert run.code == 0, run.stderr
    assert d.read(d.buckets[0], "doc.txt", side="backup") == b"regional"
    seen = set(recorded.read_text().split())
    assert {"RCLONE_CONFIG_SOURCE_REGION=eu-west-3", "RCLONE_CONFIG_BACKUP_REGION=fr-par",
            "RCLONE_CONFIG_SOURCE_PROVIDER=Minio", "RCLONE_CONFIG_BACKUP_PROVIDER=SeaweedFS"} <= seen
    assert not any("REGION=us-east-1" in line for line in seen)


@pytest.mark.parametrize(("name", "value"), [("BACKUP_S3_PROVIDER", "NotAProvider"),
                                             ("MINIO_SOURCE_REGION", "eu west"),
                                             ("BACKUP_TARGET_REGION", "")])
def test_invalid_region_or_provider_is_refused(deploy, name, value):
    d = deploy()
    d.write_env(**{name: value})
    run = d.run()
    assert run.code == 2 and name in run.last("Backup failed")["reason"]
