"""Every failure path: the documented exit code, the log lines, the previous backup intact, and the
next normal run succeeding."""

from __future__ import annotations

import fcntl
import os
import time

import pytest

from tests.integration.conftest import sha256


def backed_up(d, body: bytes = b"first version") -> str:
    """A completed first backup of one object; returns its key."""
    d.put(d.buckets[0], "doc.txt", body)
    assert d.run().code == 0
    return "doc.txt"


def test_target_stopped_before_the_run(fault_deploy, fault_world):
    d = fault_deploy()
    key = backed_up(d)
    d.put(d.buckets[0], key, b"second version!")
    fault_world.by_name("offsite").stop()
    run = d.run()
    assert run.code == 1
    assert run.log[-1]["message"] == "Backup failed" and "not usable" in run.log[-1]["reason"]
    failed = {r["bucket"]: r["reason"] for r in run.log if r["message"] == "Mirror failed"}
    assert set(failed) == set(d.buckets) and all("not usable" in reason for reason in failed.values())
    fault_world.by_name("offsite").restart()
    assert d.read(d.buckets[0], key, side="backup") == b"first version"
    again = d.run()
    assert again.code == 0
    assert d.read(d.buckets[0], key, side="backup") == b"second version!"


def test_target_stopped_in_the_middle_of_a_run(fault_deploy, fault_world):
    d = fault_deploy(BACKUP_BANDWIDTH="2M")
    key = backed_up(d)
    d.put(d.buckets[1], "large.bin", os.urandom(12 * 1024 * 1024))
    running = d.start()
    # Events of this run only: the earlier backup's log has its own "Starting mirror" lines.
    running.wait_for_log("Starting mirror", d.buckets[1])
    running.wait_for_engine_bytes(1024 * 1024)  # large.bin is on its way (2M/s: seconds still to go)
    fault_world.by_name("offsite").stop()
    run = running.finish()
    assert run.code == 1, run.stderr
    assert run.last("Mirror failed")["bucket"] == d.buckets[1]
    log = d.log_path.read_text()
    assert f'"message": "Mirror failed", "bucket": "{d.buckets[1]}"' in log
    assert '"message": "Backup failed"' in log
    fault_world.by_name("offsite").restart()
    assert d.read(d.buckets[0], key, side="backup") == b"first version"
    again = d.run()
    assert again.code == 0, again.stderr
    assert sha256(d.read(d.buckets[1], "large.bin", side="backup")) == sha256(d.read(d.buckets[1], "large.bin"))


@pytest.mark.parametrize("engine", ["rclone", "mc"])
def test_wrong_secret(fault_deploy, engine):
    d = fault_deploy(engine)
    key = backed_up(d)
    good = d.offsite.secret_key
    d.write_env(BACKUP_TARGET_SECRET_KEY="not-the-right-secret-" + "x" * 10)
    run = d.run()
    assert run.code == 1 and run.log[-1]["message"] == "Backup failed"
    d.write_env(BACKUP_TARGET_SECRET_KEY=good)
    assert d.read(d.buckets[0], key, side="backup") == b"first version"
    assert d.run().code == 0


@pytest.mark.parametrize("engine", ["rclone", "mc"])
def test_source_bucket_missing_fails_that_bucket(fault_deploy, engine):
    d = fault_deploy(engine)
    backed_up(d)
    missing = "gone-" + d.token
    d.write_env(MINIO_BACKUP_BUCKETS=",".join([*d.buckets, missing]))
    run = d.run()
    assert run.code == 1
    failed = run.last("Mirror failed")
    assert failed["bucket"] == missing and "does not exist" in failed["reason"]
    assert run.messages(d.buckets[0]) == ["Starting mirror", "Completed mirror"]
    d.write_env(MINIO_BACKUP_BUCKETS=",".join(d.buckets))
    assert d.run().code == 0


def test_hung_engine_hits_the_timeout(fault_deploy):
    d = fault_deploy("mc")
    key = backed_up(d)  # the default timeout: a normal run on a slow machine must not hit it
    d.put(d.buckets[0], key, b"changed content")
    d.mc_switches({"hang": True})
    # Every engine call gets this limit, so it must fit the calls that do not hang on a busy machine;
    # the hung mirror never finishes by itself and is stopped by it.
    d.write_env(BACKUP_TIMEOUT="30s")
    started = time.monotonic()
    run = d.run()
    assert time.monotonic() - started < 180  # bounded by the timeout, not the hour the double sleeps
    assert run.code == 1
    failed = run.last("Mirror failed")
    assert "mc timed out after 30s" in failed["reason"]
    assert d.read(d.buckets[0], key, side="backup") == b"first version"
    d.mc_switches({})
    d.write_env(BACKUP_TIMEOUT=None)
    assert d.run().code == 0


def test_unwritable_log_path_is_refused(fault_deploy, tmp_path):
    d = fault_deploy()
    run = d.run("--log-path", str(tmp_path / "no-such-dir" / "backup.log"))
    assert run.code == 2 and "not writable" in run.stderr
    assert list(d.dst.list_objects(d.target_bucket, recursive=True)) == []


def test_lock_held_exits_75_and_touches_nothing(fault_deploy):
    d = fault_deploy()
    d.put(d.buckets[0], "doc.txt", b"data")
    with open(d.root / "dream-backup.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        run = d.run()
    assert run.code == 75
    assert "another run" in run.log[-1]["reason"]
    assert list(d.dst.list_objects(d.target_bucket, recursive=True)) == []
    assert d.run().code == 0


def test_malformed_env_file_is_refused(fault_deploy):
    d = fault_deploy()
    text = d.env_file.read_text()
    d.env_file.write_text(text + 'BACKUP_TIMEOUT="6h\n')
    run = d.run()
    assert run.code == 2 and "line" in run.stderr
    d.env_file.write_text(text + 'BACKUP_TIMEOUT="soon"\n')
    run = d.run()
    assert run.code == 2 and "BACKUP_TIMEOUT" in run.stderr
    d.env_file.write_text(text.replace("MINIO_BACKUP_BUCKETS", "MINIO_BACKUP_BUCKET"))
    run = d.run()
    assert run.code == 2 and "MINIO_BACKUP_BUCKET" in run.stderr
    d.env_file.write_text(text)
    assert d.run().code == 0


def test_unversioned_target_is_refused(fault_deploy):
    d = fault_deploy()
    d.put(d.buckets[0], "doc.txt", b"data")
    plain = "plain-" + d.token
    d.dst.make_bucket(plain)
    d.write_env(BACKUP_TARGET_BUCKET=plain)
    run = d.run()
    assert run.code == 2
    assert "versioning" in run.log[-1]["reason"]
    assert list(d.dst.list_objects(plain, recursive=True)) == []
    d.write_env(BACKUP_REQUIRE_VERSIONING="false")
    assert d.run().code == 0


def test_missing_engine_binary_is_refused(fault_deploy):
    d = fault_deploy("mc", MC_PATH="/nonexistent/mc")
    run = d.run()
    assert run.code == 2 and "missing" in run.log[-1]["reason"]
    d.write_env(MC_PATH="/bin/true")
    run = d.run()
    assert run.code == 2 and "not the MinIO client" in run.log[-1]["reason"]


def test_unwritable_metrics_path_is_refused(fault_deploy, tmp_path):
    d = fault_deploy(BACKUP_METRICS_FILE=str(tmp_path / "no-such-dir" / "dream.prom"))
    d.put(d.buckets[0], "doc.txt", b"data")
    run = d.run()
    assert run.code == 2 and "metrics directory" in run.stderr
    assert list(d.dst.list_objects(d.target_bucket, recursive=True)) == []
