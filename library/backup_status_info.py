#!/usr/bin/python
"""Ansible module backup_status_info (once named backup_status): what a host's backups last did, read from
its metrics file and logs."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: backup_status_info
short_description: Report a host's backup state from its metrics file, logs and lock (read-only)
description:
  - Reads, never writes, what the backup program left on the host, and reports per bucket the last
    successful backup and its age, the last mirror's objects, bytes and duration, the last run's exit code,
    whether a run is in progress, the last restore drill's verdict and age, C(restorable_since) when the
    drill logbook records it, and the last passing restore rehearsal's estimate and budget.
  - Paths not given as options come from the env file (C(BACKUP_METRICS_FILE), C(MINIO_BACKUP_LOG),
    C(RESTORE_DRILL_LOG), C(BACKUP_LOCK_FILE), C(MINIO_BACKUP_BUCKETS)); no other name of it (no credential)
    reaches the result.
  - A run is in progress when a process holds a lock on the lock file, as C(/proc/locks) shows; the module
    never takes the lock (a backup starting at that moment would give up with exit code 75) nor creates it.
  - Files are opened without following symbolic links and must be regular files; anything else is reported.
  - Each bucket gets a list of problems; the module fails only on invalid options (the caller decides).
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
    description: Drill logbook; empty for the env file's C(RESTORE_DRILL_LOG), else C(/var/log/minio-restore-drill.log).
    type: str
    default: ""
  lock_file:
    description: Lock file; empty for the env file's C(BACKUP_LOCK_FILE), else C(/run/dream-backup/dream-backup.lock).
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
extends_documentation_fragment:
  - dream.backup.attributes
attributes:
  check_mode:
    support: full
    details: The module only reads; it runs the same in check mode.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Stricter thresholds, drills required
  backup_status_info:
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
    running: {description: "Whether a backup or restore holds the lock now.", type: bool}
    lock_holder_pid:
      description: PID of the process holding the lock (as the host's /proc/locks shows it), or null.
      type: int
    metrics_file: {description: "The metrics file read (empty when none is configured).", type: str}
    metrics_note:
      description: Why no metrics were read (not configured, missing, not a regular file), or null.
      type: str
    last_run:
      description: Time the last backup run ended (ISO 8601, UTC), or null.
      type: str
    last_run_age_hours: {description: "Hours since then, or null.", type: float}
    exit_code: {description: "Exit code of the last run (metrics) or null.", type: int}
    exit_meaning:
      description: What the exit code means (C(success), C(runtime failure), C(refused), C(skipped - lock held)).
      type: str
    last_drill:
      description: Time and verdict of the last drill record in the logbook (any bucket), or null.
      type: dict
    buckets:
      description: One entry per bucket (also C(last_success_source), C(last_failure_reason),
        C(changed_objects), C(deleted_objects), C(drill_note), C(drill_time), C(drill_last_pass_age_days),
        C(rto_budget_hours), C(rehearsal_last_pass), C(rehearsal_age_days)).
      type: list
      elements: dict
      sample:
        - {bucket: books, last_success: "2026-11-29T03:00:41Z", last_success_age_hours: 15.2, last_result: ok,
           objects: 12, bytes: 3145728, duration_seconds: 4.2, drill_verdict: pass, drill_age_days: 59.6,
           drill_last_pass: "2026-10-01T03:30:12Z", restorable_since: "2026-06-01T00:00:00Z",
           restore_estimate_hours: 3.5, problems: []}
    unconfigured_buckets:
      description: Buckets the metrics file still holds series for but the configuration no longer lists.
      type: list
      elements: str
    problems:
      description: Every bucket's problems, each as C(bucket - text).
      type: list
      elements: str
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dream.backup.plugins.module_utils.dcs_backup_env import parse as parse_env
from ansible_collections.dream.backup.plugins.module_utils.dcs_facts import (
    BACKUP_LOG,
    DRILL_LOG,
    ENV_FILE,
    EXIT_CODE,
    EXIT_MEANINGS,
    LAST_RUN,
    LOCK_FILE,
    Unreadable,
    iso,
    lock_holder,
    parse_backup_log,
    parse_drill_log,
    parse_metrics,
    read_tail,
)
from ansible_collections.dream.backup.plugins.module_utils.dcs_status import bucket_report, hours

# Only the tail of a log is read: the last run's lines are at its end, and a log that logrotate has
# not rotated yet can be large.
LOG_TAIL_BYTES = 4 * 1024 * 1024
DRILL_TAIL_BYTES = 32 * 1024 * 1024


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
    log_file = params["log_file"] or env.get("MINIO_BACKUP_LOG", BACKUP_LOG)
    drill_log = params["drill_log"] or env.get("RESTORE_DRILL_LOG", DRILL_LOG)
    lock_file = params["lock_file"] or env.get("BACKUP_LOCK_FILE", LOCK_FILE)
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
    last_run, exit_code = metrics.get((LAST_RUN, "")), metrics.get((EXIT_CODE, ""))
    exit_code = None if exit_code is None else int(exit_code)
    return {
        "state": "running" if running else "no metrics" if metrics_note else "ok",
        "running": running, "lock_holder_pid": holder, "lock_file": lock_file, "metrics_file": metrics_file,
        "metrics_note": metrics_note, "log_file": log_file, "drill_log": drill_log, "notes": notes,
        "last_run": iso(last_run), "last_run_age_hours": hours(now, last_run), "exit_code": exit_code,
        "exit_meaning": None if exit_code is None else EXIT_MEANINGS.get(exit_code, "unknown"),
        "last_drill": last_drill, "buckets": reports,
        "unconfigured_buckets": [b for b in in_metrics if b not in buckets],
        "problems": [f"{r['bucket']} - {p}" for r in reports for p in r["problems"]],
    }


def main():
    module = AnsibleModule(
        argument_spec={
            "env_file": {"type": "path", "default": ENV_FILE}, "metrics_file": {"type": "str", "default": ""},
            "log_file": {"type": "str", "default": ""}, "drill_log": {"type": "str", "default": ""},
            "lock_file": {"type": "str", "default": ""}, "buckets": {"type": "list", "elements": "str", "default": []},
            "max_age_hours": {"type": "float", "default": 26}, "max_drill_age_days": {"type": "float", "default": 100},
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
