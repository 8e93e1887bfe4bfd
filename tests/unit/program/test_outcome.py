"""A backup run that ends non-zero before its buckets were mirrored (outcome.py) leaves the same traces as a
failed mirror: 'Mirror failed' per bucket, 'Backup failed', the run's exit code and time in the metrics and
the /fail ping; a held lock is a warning with exit code 75 that pings /fail only once the lock is stale."""

from __future__ import annotations

import json
import socket
import time

import pytest

from dream_backup import log, outcome
from dream_backup.errors import EXIT_LOCKED, EXIT_REFUSED

SECRET = "target-SECRET-9f3e"


@pytest.fixture
def run_log(tmp_path):
    opened = log.RunLog(str(tmp_path / "backup.log"), log.Scrubber((SECRET,)), echo=False)
    yield opened
    opened.close()


def records(tmp_path) -> list[dict]:
    return [json.loads(line) for line in (tmp_path / "backup.log").read_text().splitlines()]


def metrics(path) -> dict[str, float]:
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in path.read_text().splitlines() if line and not line.startswith("#")}


def test_a_refused_run_fails_every_bucket_in_log_metrics_and_healthcheck(run_log, tmp_path, pings):
    prom = tmp_path / "dream_backup.prom"
    before = time.time()
    outcome.backup_failed(run_log, reason=f"target unreachable with {SECRET}", code=EXIT_REFUSED,
                          buckets=["books", "apps"], metrics_file=str(prom), healthcheck_url=pings.url)
    lines = records(tmp_path)
    assert [(r["level"], r["message"], r.get("bucket")) for r in lines] == [
        ("ERROR", "Mirror failed", "books"), ("ERROR", "Mirror failed", "apps"), ("ERROR", "Backup failed", None)]
    assert {r["reason"] for r in lines} == {"target unreachable with ********"}
    assert lines[-1]["host"] == socket.gethostname()
    samples = metrics(prom)
    assert samples["dream_backup_exit_code"] == 2
    assert samples['dream_backup_bucket_success{bucket="books"}'] == 0
    assert samples['dream_backup_bucket_success{bucket="apps"}'] == 0
    assert before - 1 <= samples["dream_backup_last_run_timestamp_seconds"] <= time.time() + 1
    assert pings.requests == [("POST", "/ping/abc/fail", b"target unreachable with ********")]


def test_a_dry_run_only_logs(run_log, tmp_path, pings):
    prom = tmp_path / "dream_backup.prom"
    outcome.backup_failed(run_log, reason="bad", code=1, buckets=["books"], metrics_file=str(prom),
                          healthcheck_url=pings.url, dry_run=True)
    assert [(r["message"], r.get("dry_run")) for r in records(tmp_path)] == [("Backup failed", True)]
    assert not prom.exists() and pings.requests == []


def test_without_metrics_file_or_url_nothing_else_is_written(run_log, tmp_path):
    outcome.backup_failed(run_log, reason="bad", code=1, buckets=["books"], metrics_file="", healthcheck_url="")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup.log"]


def test_metrics_that_cannot_be_written_are_a_warning(run_log, tmp_path):
    outcome.write_metrics(run_log, str(tmp_path / "absent" / "m.prom"), 1)
    [record] = records(tmp_path)
    assert (record["level"], record["message"]) == ("WARNING", "Metrics not written")
    assert record["reason"].startswith(f"{tmp_path / 'absent' / 'm.prom'}: ")


def test_a_fresh_held_lock_is_a_warning_with_exit_code_75_and_no_ping(run_log, tmp_path, pings):
    prom = tmp_path / "dream_backup.prom"
    since = time.time() - 60
    outcome.backup_skipped(run_log, reason="another run holds the lock /run/dream-backup/backup.lock (pid 7)",
                           pid=7, held_since=since, stale_after=3600, metrics_file=str(prom),
                           healthcheck_url=pings.url)
    [record] = records(tmp_path)
    assert (record["level"], record["message"]) == ("WARNING", "Backup skipped: another run is in progress")
    assert record["pid"] == 7 and record["stale"] is False and 59 <= record["held_seconds"] <= 70
    assert record["held_since"].endswith("+00:00")
    assert metrics(prom)["dream_backup_exit_code"] == EXIT_LOCKED
    assert pings.requests == []


def test_a_stale_lock_pings_fail(run_log, tmp_path, pings):
    outcome.backup_skipped(run_log, reason="another run holds the lock", pid=None, held_since=time.time() - 7200,
                           stale_after=3600, metrics_file="", healthcheck_url=pings.url)
    assert records(tmp_path)[0]["stale"] is True
    [(method, path, body)] = pings.requests
    assert (method, path) == ("POST", "/ping/abc/fail")
    assert body.decode().startswith("another run holds the lock; held for 7")
    assert body.decode().endswith("s, longer than 3600s")


def test_an_unknown_holder_time_is_never_stale(run_log, tmp_path, pings):
    outcome.backup_skipped(run_log, reason="held", pid=None, held_since=None, stale_after=0, metrics_file="",
                           healthcheck_url=pings.url)
    [record] = records(tmp_path)
    assert record["stale"] is False and "held_since" not in record and "held_seconds" not in record
    assert pings.requests == []
