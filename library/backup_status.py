#!/usr/bin/python
"""Ansible module backup_status: what a host's backups last did, read from its metrics file and logs."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: backup_status
short_description: Report a host's backup state from its metrics file, logs and lock (read-only)
description:
  - Reads, never writes, what the Dream Central Storage backup program left on the host, and reports
    per bucket the last successful backup and its age, the objects, bytes and duration of the last
    mirror, the last run's exit code, whether a run is in progress, the last restore drill's verdict
    and age, and the time from which the backup can restore (C(restorable_since)) when the drill
    logbook records it; per bucket also the last passing restore rehearsal's estimate of a whole-bucket
    restore and its budget (metrics, else the logbook's rehearsal records).
  - Paths not given as options are read from the env file (C(BACKUP_METRICS_FILE), C(MINIO_BACKUP_LOG),
    C(RESTORE_DRILL_LOG), C(BACKUP_LOCK_FILE), C(MINIO_BACKUP_BUCKETS)); only these names are taken from
    it, so no credential of the file reaches the result.
  - A run is in progress when a process holds a lock on the lock file. The module looks it up in
    C(/proc/locks) instead of trying the lock itself, because a probe that took the lock for a moment
    could make a backup starting at that moment give up with exit code 75. A missing lock file is not
    created.
  - Files are opened without following symbolic links and must be regular files; a FIFO or a link at
    one of the paths is reported, not read.
  - Each bucket gets a list of problems; the module itself never fails because of them (the caller
    decides), it fails only on invalid options.
version_added: "1.0.0"
author: Dream Central Storage operations (!UNKNOWN)
options:
  env_file:
    description: The backup program's env file.
    type: path
    default: /etc/dream-central-storage/backup.env
  metrics_file:
    description: Prometheus textfile of the program; empty for the env file's C(BACKUP_METRICS_FILE).
    type: str
    default: ""
  log_file:
    description: Structured backup log; empty for the env file's C(MINIO_BACKUP_LOG), else C(/var/log/minio-backup.log).
    type: str
    default: ""
  drill_log:
    description:
      - Drill logbook; empty for the env file's C(RESTORE_DRILL_LOG), else C(/var/log/minio-restore-drill.log).
    type: str
    default: ""
  lock_file:
    description:
      - The writers' lock file; empty for the env file's C(BACKUP_LOCK_FILE), else
        C(/run/dream-backup/dream-backup.lock).
    type: str
    default: ""
  buckets:
    description: Buckets to report; empty for the env file's C(MINIO_BACKUP_BUCKETS), else those in the metrics file.
    type: list
    elements: str
    default: []
  max_age_hours:
    description: A bucket whose last successful backup is older than this many hours has a problem.
    type: float
    default: 26
  max_drill_age_days:
    description: A bucket whose last passing drill is older than this many days has a problem.
    type: float
    default: 100
  require_drill:
    description: A bucket that was never drilled has a problem (otherwise it is only shown as C(never)).
    type: bool
    default: false
attributes:
  check_mode:
    description: Can run in check mode and report what would change, changing nothing.
    support: full
    details: The module only reads; it runs the same in check mode.
  diff_mode:
    description: Reports the state before and after a change when run with C(--diff).
    support: none
"""

EXAMPLES = r"""
- name: Backup state of this host
  backup_status:
  register: status

- name: Stricter thresholds, drills required
  backup_status:
    max_age_hours: 2
    max_drill_age_days: 92
    require_drill: true
"""

RETURN = r"""
status:
  description: The host's backup state.
  returned: always
  type: dict
  contains:
    state:
      description: C(running) when a run holds the lock, else C(no metrics) when the metrics file is not
        configured or not there, else C(ok).
      type: str
      sample: ok
    running:
      description: Whether a backup or restore holds the lock now.
      type: bool
    lock_holder_pid:
      description: PID of the process holding the lock (as the host's /proc/locks shows it), or null.
      type: int
    metrics_file:
      description: The metrics file read (empty when none is configured).
      type: str
    metrics_note:
      description: Why no metrics were read (not configured, missing, not a regular file), or null.
      type: str
    last_run:
      description: Time the last backup run ended (ISO 8601, UTC), or null.
      type: str
    last_run_age_hours:
      description: Hours since then, or null.
      type: float
    exit_code:
      description: Exit code of the last run (metrics), or null.
      type: int
    exit_meaning:
      description: What the exit code means (C(success), C(runtime failure), C(refused), C(skipped - lock held)).
      type: str
    last_drill:
      description: Time and verdict of the last drill record in the logbook (any bucket), or null.
      type: dict
    buckets:
      description: One entry per bucket.
      type: list
      elements: dict
      sample:
        - bucket: books
          last_success: "2026-11-29T03:00:41Z"
          last_success_age_hours: 15.2
          last_success_source: metrics
          last_result: ok
          last_failure_reason: null
          changed_objects: 0
          deleted_objects: 0
          objects: 12
          bytes: 3145728
          duration_seconds: 4.2
          drill_verdict: pass
          drill_time: "2026-10-01T03:30:12Z"
          drill_age_days: 59.6
          drill_last_pass: "2026-10-01T03:30:12Z"
          drill_last_pass_age_days: 59.6
          restorable_since: "2026-06-01T00:00:00Z"
          restore_estimate_hours: 3.5
          rto_budget_hours: 24
          rehearsal_last_pass: "2026-11-15T04:45:10Z"
          problems: []
    unconfigured_buckets:
      description: Buckets the metrics file still holds series for but the configuration no longer lists.
      type: list
      elements: str
    problems:
      description: Every bucket's problems, each as C(bucket - text).
      type: list
      elements: str
"""

import json
import os
import re
import stat
import time
from datetime import UTC, datetime

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dream.backup.plugins.module_utils.dcs_backup_env import parse as parse_env

DEFAULT_LOG = "/var/log/minio-backup.log"
DEFAULT_DRILL_LOG = "/var/log/minio-restore-drill.log"
DEFAULT_LOCK = "/run/dream-backup/dream-backup.lock"
EXIT_MEANINGS = {0: "success", 1: "runtime failure", 2: "refused", 75: "skipped - lock held"}
# Only the tail of a log is read: the last run's lines are at its end, and a log that logrotate has
# not rotated yet can be large.
LOG_TAIL_BYTES = 4 * 1024 * 1024
DRILL_TAIL_BYTES = 32 * 1024 * 1024
# name{labels} value; label values are quoted with backslash escapes (Prometheus text format).
_SERIES = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[^"}]|"(?:[^"\\\n]|\\.)*")*\})?\s+(\S+)')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)"')
_UNESCAPE = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}


class Unreadable(Exception):
    """A path that exists but is not a regular file we may read (link, FIFO, directory, no permission)."""


def read_tail(path, limit):
    """Text of the last ``limit`` bytes of a regular file (not following links), or None when absent."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise Unreadable(f"{path} cannot be read ({exc.strerror}; a symbolic link is never followed)") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Unreadable(f"{path} is not a regular file")
        start = max(0, info.st_size - limit)
        os.lseek(fd, start, os.SEEK_SET)
        chunks = []
        while True:
            chunk = os.read(fd, 1024 * 1024)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(fd)
    text = b"".join(chunks).decode("utf-8", errors="replace")
    if start > 0:
        text = text.split("\n", 1)[1] if "\n" in text else ""  # the first line was cut
    return text


def parse_metrics(text):
    """{(name, bucket or ''): float} of a Prometheus textfile; comments and malformed lines are skipped."""
    values = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _SERIES.match(line)
        if not match:
            continue
        try:
            value = float(match.group(3))
        except ValueError:
            continue
        labels = {k: re.sub(r'\\[\\"n]', lambda m: _UNESCAPE[m.group(0)], v)
                  for k, v in _LABEL.findall(match.group(2) or "")}
        values[(match.group(1), labels.get("bucket", ""))] = value
    return values


def parse_time(text):
    """Epoch seconds of an ISO 8601 time (``Z`` or an offset; naive means UTC), or None."""
    if not isinstance(text, str) or not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def iso(epoch):
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def json_lines(text):
    for raw in (text or "").splitlines():
        line = raw.strip()
        if not line.startswith("{"):
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            yield record


def parse_backup_log(text):
    """Per bucket the last ``Completed mirror`` time and the last mirror outcome (with its reason)."""
    buckets = {}
    for record in json_lines(text):
        bucket, message = record.get("bucket"), record.get("message")
        if not isinstance(bucket, str) or message not in ("Completed mirror", "Mirror failed", "Mirror held"):
            continue
        entry = buckets.setdefault(bucket, {"completed": None, "last": None, "reason": None})
        ts = parse_time(record.get("ts"))
        entry["last"] = message
        entry["reason"] = record.get("reason") if message in ("Mirror failed", "Mirror held") else None
        if message == "Completed mirror" and ts is not None:
            entry["completed"] = ts
    return buckets


def parse_drill_log(text):
    """Per bucket the last drill (time, verdict, note, restorable_since) and the last passing drill's time;
    and the last record overall."""
    buckets, last = {}, None
    for record in json_lines(text):
        ts = parse_time(record.get("ts"))
        if ts is not None and record.get("kind") == "rehearsal" and isinstance(record.get("bucket"), str):
            note_rehearsal(buckets, record, ts)
        if ts is None or not isinstance(record.get("buckets"), list):
            continue
        last = {"time": iso(ts), "verdict": record.get("verdict")}
        top_since = record.get("restorable_since") if isinstance(record.get("restorable_since"), dict) else {}
        for summary in record["buckets"]:
            if not isinstance(summary, dict) or not isinstance(summary.get("bucket"), str):
                continue
            name = summary["bucket"]
            entry = buckets.setdefault(name, {"time": None, "verdict": None, "note": None, "last_pass": None,
                                              "restorable_since": None})
            entry.update(time=ts, verdict=summary.get("verdict"), note=summary.get("note"))
            since = summary.get("restorable_since", top_since.get(name))
            if since:
                entry["restorable_since"] = since
            if summary.get("verdict") == "pass":
                entry["last_pass"] = ts
    return buckets, last


def note_rehearsal(buckets, record, ts):
    """A passing restore rehearsal's time, estimate and budget, kept with its bucket's drill entry (the
    drill fields stay as they were: a rehearsal is no drill)."""
    if record.get("verdict") != "pass" or not isinstance(record.get("estimated_restore_seconds"), (int, float)):
        return
    entry = buckets.setdefault(record["bucket"], {"time": None, "verdict": None, "note": None, "last_pass": None,
                                                  "restorable_since": None})
    budget = record.get("rto_budget_seconds")
    entry["rehearsal"] = {"time": ts, "estimate": float(record["estimated_restore_seconds"]),
                          "budget": float(budget) if isinstance(budget, (int, float)) else None}


def rehearsal_fields(name, metrics, drilled, now):
    """The bucket's restore-time estimate and budget (hours) and its last passing rehearsal: from the
    metrics file, else from the logbook's last passing rehearsal record."""
    logged = drilled.get("rehearsal") or {}
    passed = metrics.get(("dream_backup_rehearsal_last_success_timestamp_seconds", name))
    estimate = metrics.get(("dream_backup_estimated_restore_seconds", name))
    budget = metrics.get(("dream_backup_rto_budget_seconds", name))
    if passed is None or (logged.get("time") is not None and logged["time"] > passed):
        passed, estimate, budget = logged.get("time"), logged.get("estimate"), logged.get("budget")
    return {"restore_estimate_hours": None if estimate is None else round(estimate / 3600, 2),
            "rto_budget_hours": None if budget is None else round(budget / 3600, 2),
            "rehearsal_last_pass": iso(passed), "rehearsal_age_days": days(now, passed)}


def holds_open(pid, wanted):
    """Whether process ``pid`` has a file with (st_dev, st_ino) ``wanted`` open (stat through /proc/PID/fd
    shows the file as this mount namespace sees it)."""
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for name in names:
        try:
            info = os.stat(f"/proc/{pid}/fd/{name}")
        except OSError:
            continue
        if (info.st_dev, info.st_ino) == wanted:
            return True
    return False


def lock_holder(path, proc_locks="/proc/locks"):
    """(held, pid) for the lock file, from /proc/locks; (False, None) when the file does not exist.
    Nothing is opened for writing, created or locked.

    /proc/locks names the locked file by device and inode. On overlayfs (containers) it shows the
    upper file system's device while stat() shows the overlay's, so an entry with the right inode and
    another device counts when its process has the lock file open."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return False, None
    if not stat.S_ISREG(info.st_mode):
        raise Unreadable(f"lock file {path} is not a regular file")
    device = (os.major(info.st_dev), os.minor(info.st_dev))
    with open(proc_locks, encoding="ascii", errors="replace") as handle:
        for line in handle:
            # "1: FLOCK  ADVISORY  WRITE 1234 fe:00:2149560 0 EOF"; blocked waiters carry "->".
            fields = line.split()
            if len(fields) < 6 or fields[1] != "FLOCK":
                continue
            try:
                major, minor, inode = fields[5].split(":")
                found_device, found_inode = (int(major, 16), int(minor, 16)), int(inode)
            except ValueError:
                continue
            if found_inode != info.st_ino:
                continue
            pid = int(fields[4]) if fields[4].isdigit() and int(fields[4]) > 0 else None
            if found_device == device or (pid and holds_open(pid, (info.st_dev, info.st_ino))):
                return True, pid
    return False, None


def hours(now, epoch):
    return None if epoch is None else round((now - epoch) / 3600, 2)


def days(now, epoch):
    return None if epoch is None else round((now - epoch) / 86400, 2)


def count(value):
    return None if value is None else int(value)


def bucket_report(name, metrics, log, drill, now, params):
    m = {metric: metrics.get((metric, name)) for metric in (
        "dream_backup_last_success_timestamp_seconds", "dream_backup_bucket_success", "dream_backup_objects",
        "dream_backup_bytes", "dream_backup_duration_seconds", "dream_backup_drill_last_success_timestamp_seconds",
        "dream_backup_changed_objects", "dream_backup_deleted_objects", "dream_backup_bucket_held")}
    logged = log.get(name, {})
    drilled = drill.get(name, {})
    success, source = m["dream_backup_last_success_timestamp_seconds"], "metrics"
    if success is None and logged.get("completed") is not None:
        success, source = logged["completed"], "log"
    if m["dream_backup_bucket_success"] is not None:
        result = "ok" if m["dream_backup_bucket_success"] == 1 else "failed"
    else:
        result = {"Completed mirror": "ok", "Mirror failed": "failed", "Mirror held": "held"}.get(logged.get("last"))
    if m["dream_backup_bucket_held"] == 1 or (result == "failed" and logged.get("last") == "Mirror held"):
        result = "held"  # the guard held the night (docs/guard.md): a failure that needs a decision
    last_pass = m["dream_backup_drill_last_success_timestamp_seconds"]
    if drilled.get("last_pass") is not None and (last_pass is None or drilled["last_pass"] > last_pass):
        last_pass = drilled["last_pass"]
    report = {
        "bucket": name,
        "last_success": iso(success),
        "last_success_age_hours": hours(now, success),
        "last_success_source": source if success is not None else None,
        "last_result": result,
        "last_failure_reason": logged.get("reason") if result in ("failed", "held") else None,
        "changed_objects": count(m["dream_backup_changed_objects"]),
        "deleted_objects": count(m["dream_backup_deleted_objects"]),
        "objects": None if m["dream_backup_objects"] is None else int(m["dream_backup_objects"]),
        "bytes": None if m["dream_backup_bytes"] is None else int(m["dream_backup_bytes"]),
        "duration_seconds": m["dream_backup_duration_seconds"],
        "drill_verdict": drilled.get("verdict"),
        "drill_note": drilled.get("note"),
        "drill_time": iso(drilled.get("time")),
        "drill_age_days": days(now, drilled.get("time")),
        "drill_last_pass": iso(last_pass),
        "drill_last_pass_age_days": days(now, last_pass),
        "restorable_since": drilled.get("restorable_since"),
        **rehearsal_fields(name, metrics, drilled, now),
    }
    problems = []
    if success is None:
        problems.append("no successful backup recorded")
    elif now - success > params["max_age_hours"] * 3600:  # unrounded: a limit of 0 h fails a success 10 s old
        problems.append(f"last success {report['last_success_age_hours']} h ago (max {params['max_age_hours']:g} h)")
    if result == "held":
        counts = (f": {report['changed_objects']} changed, {report['deleted_objects']} deleted at the source"
                  if report["changed_objects"] is not None else " (its reason is in the log)")
        problems.append(f"held by the guard{counts}; restore production or accept the change (docs/guard.md)")
    if drilled.get("verdict") not in (None, "pass"):
        problems.append(f"last drill {drilled.get('verdict')} on {report['drill_time']}"
                        + (f" ({drilled['note']})" if drilled.get("note") else ""))
    if last_pass is None:
        if params["require_drill"]:
            problems.append("never passed a restore drill")
    elif now - last_pass > params["max_drill_age_days"] * 86400:
        problems.append(f"last passing drill {report['drill_last_pass_age_days']} days ago "
                        f"(max {params['max_drill_age_days']:g} days)")
    report["problems"] = problems
    return report


def read_env(module, path):
    try:
        text = read_tail(path, 1024 * 1024)
    except Unreadable as exc:
        module.fail_json(msg=f"env file: {exc}")
    variables = parse_env(text) if text else {}
    # Only the names this report needs leave this function: the file also holds credentials.
    return {k: variables[k] for k in ("BACKUP_METRICS_FILE", "MINIO_BACKUP_LOG", "RESTORE_DRILL_LOG",
                                      "BACKUP_LOCK_FILE", "MINIO_BACKUP_BUCKETS") if variables.get(k)}


def collect(module):
    params = module.params
    env = read_env(module, params["env_file"])
    metrics_file = params["metrics_file"] or env.get("BACKUP_METRICS_FILE", "")
    log_file = params["log_file"] or env.get("MINIO_BACKUP_LOG", DEFAULT_LOG)
    drill_log = params["drill_log"] or env.get("RESTORE_DRILL_LOG", DEFAULT_DRILL_LOG)
    lock_file = params["lock_file"] or env.get("BACKUP_LOCK_FILE", DEFAULT_LOCK)
    now = time.time()
    notes = []

    metrics, metrics_note = {}, None
    if not metrics_file:
        metrics_note = "metrics file not configured (BACKUP_METRICS_FILE is empty)"
    else:
        try:
            text = read_tail(metrics_file, LOG_TAIL_BYTES)
        except Unreadable as exc:
            text, metrics_note = None, str(exc)
        if text is None and metrics_note is None:
            metrics_note = f"{metrics_file} does not exist (no run has written it yet)"
        metrics = parse_metrics(text or "")

    def read_or_note(path, parser, limit):
        try:
            return parser(read_tail(path, limit))
        except Unreadable as exc:
            notes.append(str(exc))
            return parser(None)

    log = read_or_note(log_file, parse_backup_log, LOG_TAIL_BYTES)
    drill, last_drill = read_or_note(drill_log, parse_drill_log, DRILL_TAIL_BYTES)
    try:
        running, holder = lock_holder(lock_file)
    except (Unreadable, OSError) as exc:
        running, holder = False, None
        notes.append(f"lock state unknown: {exc}")

    in_metrics = sorted({bucket for (_series, bucket) in metrics if bucket})
    configured = params["buckets"] or [b.strip() for b in env.get("MINIO_BACKUP_BUCKETS", "").split(",") if b.strip()]
    buckets = configured or in_metrics or sorted(log)
    reports = [bucket_report(name, metrics, log, drill, now, params) for name in buckets]
    last_run = metrics.get(("dream_backup_last_run_timestamp_seconds", ""))
    exit_code = metrics.get(("dream_backup_exit_code", ""))
    exit_code = None if exit_code is None else int(exit_code)
    if running:
        state = "running"
    elif metrics_note:
        state = "no metrics"
    else:
        state = "ok"
    return {
        "state": state,
        "running": running,
        "lock_holder_pid": holder,
        "lock_file": lock_file,
        "metrics_file": metrics_file,
        "metrics_note": metrics_note,
        "log_file": log_file,
        "drill_log": drill_log,
        "notes": notes,
        "last_run": iso(last_run),
        "last_run_age_hours": hours(now, last_run),
        "exit_code": exit_code,
        "exit_meaning": None if exit_code is None else EXIT_MEANINGS.get(exit_code, "unknown"),
        "last_drill": last_drill,
        "buckets": reports,
        "unconfigured_buckets": [b for b in in_metrics if b not in buckets],
        "problems": [f"{r['bucket']} - {p}" for r in reports for p in r["problems"]],
    }


def main():
    module = AnsibleModule(
        argument_spec={
            "env_file": {"type": "path", "default": "/etc/dream-central-storage/backup.env"},
            "metrics_file": {"type": "str", "default": ""},
            "log_file": {"type": "str", "default": ""},
            "drill_log": {"type": "str", "default": ""},
            "lock_file": {"type": "str", "default": ""},
            "buckets": {"type": "list", "elements": "str", "default": []},
            "max_age_hours": {"type": "float", "default": 26},
            "max_drill_age_days": {"type": "float", "default": 100},
            "require_drill": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    for name in ("metrics_file", "log_file", "drill_log", "lock_file"):
        value = module.params[name]
        if value and not os.path.isabs(value):
            module.fail_json(msg=f"{name} must be an absolute path, got {value!r}")
    if module.params["max_age_hours"] < 0 or module.params["max_drill_age_days"] < 0:
        module.fail_json(msg="max_age_hours and max_drill_age_days must not be negative")
    module.exit_json(changed=False, status=collect(module))


if __name__ == "__main__":
    main()
