"""backup_status_info (once backup_status): reads metrics, logs, drill logbook and lock state; never
writes or locks anything."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest

from tests.unit.conftest import load_module, tree_snapshot
from tests.unit.roles.role_play import local_host, run_play

SECRET = "tgt-SECRET-value-9c2b7f"


def stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Host:
    """A host's files as the backup program leaves them, under one temporary root."""

    def __init__(self, root):
        self.root = root
        self.metrics = root / "node-exporter" / "dream_backup.prom"
        self.log = root / "log" / "minio-backup.log"
        self.drill_log = root / "log" / "minio-restore-drill.log"
        self.lock = root / "run" / "dream-backup.lock"
        self.env = root / "etc" / "backup.env"
        for path in (self.metrics, self.log, self.lock, self.env):
            path.parent.mkdir(parents=True, exist_ok=True)

    def write_env(self, buckets="books,apps"):
        self.env.write_text(
            f'BACKUP_TARGET_SECRET_KEY="{SECRET}"\nMINIO_SOURCE_SECRET_KEY="{SECRET}-source"\n'
            f'MINIO_BACKUP_BUCKETS="{buckets}"\nMINIO_BACKUP_LOG="{self.log}"\n'
            f'RESTORE_DRILL_LOG="{self.drill_log}"\nBACKUP_LOCK_FILE="{self.lock}"\n'
            f'BACKUP_METRICS_FILE="{self.metrics}"\n')
        self.env.chmod(0o600)

    def write_metrics(self, success: dict[str, float], *, ok=None, exit_code=0, drill=None, run=None):
        now = time.time()
        ok = ok or {}
        lines = ["# HELP dream_backup_last_run_timestamp_seconds Time the last backup run ended.",
                 "# TYPE dream_backup_last_run_timestamp_seconds gauge",
                 f"dream_backup_last_run_timestamp_seconds {run or now:.3f}"]
        for bucket, ts in success.items():
            lines += [f'dream_backup_last_success_timestamp_seconds{{bucket="{bucket}"}} {ts:.3f}',
                      f'dream_backup_bucket_success{{bucket="{bucket}"}} {ok.get(bucket, 1)}',
                      f'dream_backup_objects{{bucket="{bucket}"}} 12',
                      f'dream_backup_bytes{{bucket="{bucket}"}} 3145728',
                      f'dream_backup_duration_seconds{{bucket="{bucket}"}} 4.25']
        for bucket, ts in (drill or {}).items():
            lines.append(f'dream_backup_drill_last_success_timestamp_seconds{{bucket="{bucket}"}} {ts:.3f}')
        lines.append(f"dream_backup_exit_code {exit_code}")
        self.metrics.write_text("\n".join(lines) + "\n")

    def log_lines(self, *records):
        with self.log.open("a") as handle:
            for record in records:
                handle.write(json.dumps(record) + "\n")

    @contextlib.contextmanager
    def lock_held(self):
        """Another process holds the lock file for the block, with the same open + flock as the program's
        writers; yields that process once it has the lock (it says "held" then, and keeps the lock until
        its stdin closes)."""
        holder = subprocess.Popen(
            [sys.executable, "-c", "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600); "
             "fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB); print('held', flush=True); sys.stdin.read()",
             str(self.lock)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout.readline() == "held\n"
            yield holder
        finally:
            holder.stdin.close()
            holder.wait()
            holder.stdout.close()

    def drill(self, epoch, verdicts: dict[str, str], **extra):
        buckets = [{"bucket": b, "verdict": v, "note": None, **extra.get(b, {})} for b, v in verdicts.items()]
        record = {"ts": stamp(epoch), "host": "vps", "verdict": "pass" if set(verdicts.values()) == {"pass"}
                  else "fail", "buckets": buckets, "objects": []}
        with self.drill_log.open("a") as handle:
            handle.write(json.dumps(record) + "\n")


@pytest.fixture
def host(tmp_path):
    h = Host(tmp_path)
    h.write_env()
    return h


def status(run_module, host, **args):
    result = run_module("backup_status_info", {"env_file": str(host.env), **args})
    assert not result.get("failed"), result
    assert result["changed"] is False
    return result["status"]


def by_bucket(report):
    return {b["bucket"]: b for b in report["buckets"]}


def test_fresh_backup_reports_every_value_and_no_problem(run_module, host):
    now = time.time()
    host.write_metrics({"books": now - 3600, "apps": now - 7200})
    report = status(run_module, host)
    assert report["state"] == "ok" and report["running"] is False
    assert report["exit_code"] == 0 and report["exit_meaning"] == "success"
    books = by_bucket(report)["books"]
    assert books["last_success_age_hours"] == pytest.approx(1, abs=0.05)
    assert books["last_success"] == stamp(now - 3600)[:19] + "Z"
    assert (books["objects"], books["bytes"], books["duration_seconds"]) == (12, 3145728, 4.25)
    assert books["last_result"] == "ok" and books["last_success_source"] == "metrics"
    assert report["problems"] == [] and books["drill_verdict"] is None and books["drill_last_pass"] is None


def test_stale_bucket_is_a_problem_naming_the_bucket(run_module, host):
    now = time.time()
    host.write_metrics({"books": now - 30 * 3600, "apps": now - 60})
    report = status(run_module, host)
    assert report["problems"] == ["books - last success 30.0 h ago (max 26 h)"]
    assert status(run_module, host, max_age_hours=31)["problems"] == []
    assert status(run_module, host, max_age_hours=0)["problems"][1].startswith("apps - last success")


def test_zero_limit_fails_a_success_seconds_old(run_module, host):
    # The reported age is rounded to 0.0 h; the comparison must not be.
    host.write_metrics({"books": time.time() - 10, "apps": time.time() - 10})
    assert status(run_module, host, max_age_hours=0)["problems"] == [
        "books - last success 0.0 h ago (max 0 h)", "apps - last success 0.0 h ago (max 0 h)"]
    assert status(run_module, host, max_age_hours=1)["problems"] == []


def test_configured_bucket_without_any_success_is_a_problem(run_module, host):
    host.write_env(buckets="books,apps,audio")
    host.write_metrics({"books": time.time(), "apps": time.time()})
    report = status(run_module, host)
    assert report["problems"] == ["audio - no successful backup recorded"]


def test_failed_mirror_shows_the_logged_reason(run_module, host):
    now = time.time()
    host.write_metrics({"books": now - 600, "apps": now - 90000}, ok={"apps": 0}, exit_code=1)
    host.log_lines({"ts": stamp(now - 60), "level": "INFO", "message": "Starting mirror", "bucket": "apps"},
                   {"ts": stamp(now - 50), "level": "ERROR", "message": "Mirror failed", "bucket": "apps",
                    "reason": "AccessDenied at the target"})
    report = status(run_module, host)
    apps = by_bucket(report)["apps"]
    assert (apps["last_result"], apps["last_failure_reason"]) == ("failed", "AccessDenied at the target")
    assert report["exit_meaning"] == "runtime failure"


def test_lock_skip_exit_code_is_named(run_module, host):
    host.write_metrics({"books": time.time(), "apps": time.time()}, exit_code=75)
    assert status(run_module, host)["exit_meaning"] == "skipped - lock held"


def test_missing_metrics_file_says_no_metrics_and_falls_back_to_the_log(run_module, host):
    now = time.time()
    host.log_lines({"ts": stamp(now - 7200), "level": "INFO", "message": "Completed mirror", "bucket": "books"})
    report = status(run_module, host)
    assert report["state"] == "no metrics" and "does not exist" in report["metrics_note"]
    books, apps = by_bucket(report)["books"], by_bucket(report)["apps"]
    assert books["last_success_source"] == "log"
    assert books["last_success_age_hours"] == pytest.approx(2, abs=0.05)
    assert report["problems"] == ["apps - no successful backup recorded"]
    assert apps["objects"] is None and not host.metrics.exists()


def test_unconfigured_metrics_file_says_no_metrics(run_module, host):
    host.env.write_text(f'MINIO_BACKUP_BUCKETS="books"\nMINIO_BACKUP_LOG="{host.log}"\n')
    report = status(run_module, host)
    assert report["state"] == "no metrics" and "not configured" in report["metrics_note"]


def test_a_link_at_the_metrics_path_is_not_followed(run_module, host, tmp_path):
    target = tmp_path / "elsewhere.prom"
    target.write_text(f'dream_backup_last_success_timestamp_seconds{{bucket="books"}} {time.time()}\n')
    host.metrics.symlink_to(target)
    report = status(run_module, host)
    assert report["state"] == "no metrics" and "symbolic link" in report["metrics_note"]
    assert by_bucket(report)["books"]["last_success"] is None


def test_a_fifo_at_the_log_path_is_reported_not_read(run_module, host):
    os.mkfifo(host.log)
    host.write_metrics({"books": time.time(), "apps": time.time()})
    report = status(run_module, host)  # would hang if the FIFO were opened for a blocking read
    assert report["notes"] == [f"{host.log} is not a regular file"]


def test_escaped_label_values_are_read(run_module, host):
    host.write_env(buckets='we"ird')
    host.metrics.write_text('dream_backup_last_success_timestamp_seconds{bucket="we\\"ird"} '
                            f"{time.time() - 60}\n")
    assert by_bucket(status(run_module, host))['we"ird']["last_success"] is not None


def test_running_when_a_writer_holds_the_lock(run_module, host):
    host.write_metrics({"books": time.time(), "apps": time.time()})
    with host.lock_held() as holder:
        report = status(run_module, host)
        assert report["state"] == "running" and report["running"] is True
        assert report["lock_holder_pid"] == holder.pid
    report = status(run_module, host)
    assert report["state"] == "ok" and report["running"] is False


def test_absent_lock_file_is_not_created(run_module, host):
    host.write_metrics({"books": time.time(), "apps": time.time()})
    assert status(run_module, host)["running"] is False
    assert not host.lock.exists()


def test_drill_verdicts_ages_and_restorable_since(run_module, host):
    now = time.time()
    host.write_metrics({"books": now, "apps": now}, drill={"books": now - 10 * 86400})
    host.drill(now - 10 * 86400, {"books": "pass", "apps": "pass"},
               books={"restorable_since": "2026-06-01T00:00:00Z"})
    host.drill(now - 5 * 86400, {"apps": "fail"}, apps={"note": "source has 3 objects but the backup has none"})
    report = status(run_module, host)
    books, apps = by_bucket(report)["books"], by_bucket(report)["apps"]
    assert (books["drill_verdict"], books["restorable_since"]) == ("pass", "2026-06-01T00:00:00Z")
    assert books["drill_age_days"] == pytest.approx(10, abs=0.01)
    assert books["drill_last_pass_age_days"] == pytest.approx(10, abs=0.01)
    assert (apps["drill_verdict"], apps["drill_last_pass_age_days"]) == ("fail", pytest.approx(10, abs=0.01))
    assert report["problems"] == [f"apps - last drill fail on {apps['drill_time']} "
                                  "(source has 3 objects but the backup has none)"]
    assert report["last_drill"]["verdict"] == "fail"


def test_overdue_drill_and_never_drilled(run_module, host):
    now = time.time()
    host.write_metrics({"books": now, "apps": now})
    host.drill(now - 101 * 86400, {"books": "pass"})
    assert status(run_module, host)["problems"] == ["books - last passing drill 101.0 days ago (max 100 days)"]
    assert status(run_module, host, max_drill_age_days=102)["problems"] == []
    assert status(run_module, host, max_drill_age_days=102, require_drill=True)["problems"] == [
        "apps - never passed a restore drill"]


def test_env_file_secrets_never_reach_the_result(run_module, host):
    host.write_metrics({"books": time.time(), "apps": time.time()})
    result = run_module("backup_status_info", {"env_file": str(host.env)})
    assert SECRET not in result["_raw"]
    assert result["status"]["metrics_file"] == str(host.metrics)


def test_check_mode_reads_the_same_and_changes_nothing(run_module, host):
    now = time.time()
    host.write_metrics({"books": now - 60, "apps": now - 60})
    host.drill(now - 86400, {"books": "pass", "apps": "pass"})
    before = tree_snapshot(host.root)
    checked = run_module("backup_status_info", {"env_file": str(host.env)}, check=True)
    assert checked["changed"] is False
    assert [b["bucket"] for b in checked["status"]["buckets"]] == ["books", "apps"]
    assert tree_snapshot(host.root) == before


def test_relative_path_is_refused(run_module, host):
    result = run_module("backup_status_info", {"env_file": str(host.env), "metrics_file": "x.prom"})
    assert result["failed"] and "absolute" in result["msg"]


def test_lock_seen_through_an_overlay_device_number(host, tmp_path):
    """/proc/locks of a container shows the upper file system's device: the inode and the holder's open
    file decide; a process that does not have the lock file open does not count."""
    lock_holder = load_module("backup_status_info").lock_holder
    host.lock.write_text("")
    ino = host.lock.stat().st_ino
    holder = subprocess.Popen([sys.executable, "-c", "import sys; f = open(sys.argv[1]); print('open', flush=True); "
                               "sys.stdin.read()", str(host.lock)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline() == "open\n"
        for pid, held in ((holder.pid, True), (os.getpid(), False)):
            fake = tmp_path / f"locks-{pid}"
            fake.write_text(f"1: FLOCK  ADVISORY  WRITE {pid} 00:ff:{ino} 0 EOF\n"
                            f"2: POSIX  ADVISORY  WRITE {holder.pid} 00:ff:{ino} 0 EOF\n")
            assert lock_holder(str(host.lock), str(fake)) == (held, pid if held else None)
    finally:
        holder.stdin.close()
        holder.wait()


def test_restore_estimate_per_bucket_from_the_metrics_or_else_the_logbook(run_module, host):
    now = time.time()
    host.write_metrics({"books": now - 3600, "apps": now - 3600})
    with host.metrics.open("a") as handle:
        handle.write(f'dream_backup_rehearsal_last_success_timestamp_seconds{{bucket="books"}} {now - 86400:.3f}\n'
                     'dream_backup_estimated_restore_seconds{bucket="books"} 12600\n'
                     'dream_backup_rto_budget_seconds{bucket="books"} 86400\n')
    # apps: only the logbook knows its rehearsal (metrics off at the time); a failed one later does not count.
    with host.drill_log.open("a") as handle:
        for verdict, age, estimate in (("pass", 2 * 86400, 5400.0), ("fail", 3600, None)):
            handle.write(json.dumps({"ts": stamp(now - age), "kind": "rehearsal", "bucket": "apps", "verdict": verdict,
                                     "estimated_restore_seconds": estimate, "rto_budget_seconds": 7200}) + "\n")
    report = status(run_module, host)
    books, apps = by_bucket(report)["books"], by_bucket(report)["apps"]
    assert (books["restore_estimate_hours"], books["rto_budget_hours"]) == (3.5, 24)
    assert books["rehearsal_age_days"] == pytest.approx(1, abs=0.01)
    assert (apps["restore_estimate_hours"], apps["rto_budget_hours"]) == (1.5, 2)
    assert apps["rehearsal_last_pass"] == stamp(now - 2 * 86400)[:19] + "Z"
    # A rehearsal is no drill: the drill columns stay empty.
    assert apps["drill_verdict"] is None and apps["drill_last_pass"] is None and report["problems"] == []


def test_a_bucket_never_rehearsed_has_no_estimate(run_module, host):
    host.write_metrics({"books": time.time()})
    books = by_bucket(status(run_module, host))["books"]
    assert books["restore_estimate_hours"] is None and books["rehearsal_last_pass"] is None


def test_the_old_name_backup_status_still_runs_the_module_and_says_it_is_deprecated(host, tmp_path):
    """meta/runtime.yml routes dream.backup.backup_status to backup_status_info for one release."""
    task = {"name": "old name", "dream.backup.backup_status": {"env_file": str(host.env)}, "register": "old"}
    show = {"name": "show", "ansible.builtin.debug": {"msg": "buckets={{ old.status.buckets | length }}"}}
    proc = run_play(tmp_path, local_host(), {"gather_facts": False, "tasks": [task, show]})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "buckets=" in proc.stdout and "buckets=0" not in proc.stdout
    assert "dream.backup.backup_status_info" in proc.stdout + proc.stderr  # the deprecation names the new module
