#!/usr/bin/python
"""Ansible module backup_status_report: one table and one list of problems for the whole fleet."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: backup_status_report
short_description: Combine every host's backup_status result into one fleet table and list of problems
description:
  - Runs on the controller (C(delegate_to) localhost, C(run_once)) with the result each host registered
    from M(dream.backup.backup_status). Builds one row per host and bucket, and the list of problems that should fail
    the play, each naming its host and bucket.
  - A host whose result says it was unreachable is shown as C(unreachable); a host whose status could not
    be read is shown as C(error) with the message. Both are problems (the fleet cannot be called healthy
    without them). A host holding the lock is C(running); one without a metrics file is C(no metrics).
  - Computes only; reads and writes no file.
version_added: "1.0.0"
author: Dream Central Storage operations (!UNKNOWN)
options:
  results:
    description: Host name to the result it registered from M(dream.backup.backup_status) (also failed or
      unreachable ones).
    type: dict
    required: true
attributes:
  check_mode:
    description: Can run in check mode and report what would change, changing nothing.
    support: full
  diff_mode:
    description: Reports the state before and after a change when run with C(--diff).
    support: none
"""

EXAMPLES = r"""
- name: Fleet table
  backup_status_report:
    results: "{{ dict(ansible_play_hosts_all | zip(ansible_play_hosts_all
      | map('extract', hostvars, '__minio_backup_status_host'))) }}"
  delegate_to: localhost
  run_once: true
  register: fleet
"""

RETURN = r"""
table:
  description: The fleet table, one line per host and bucket after a header line.
  returned: always
  type: list
  elements: str
hosts:
  description: Per host its state and, when it answered, the status M(dream.backup.backup_status) returned.
  returned: always
  type: list
  elements: dict
problems:
  description: Every problem as C(host bucket - text) (or C(host - text) for a host-level one).
  returned: always
  type: list
  elements: str
  sample: ["dcs-vps1 books - last success 30.2 h ago (max 26 h)"]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.dcs_facts import human_bytes as facts_human_bytes

COLUMNS = ("host", "bucket", "state", "last success", "age h", "objects", "bytes", "duration s", "exit",
           "drill", "drill age d", "restorable since", "restore est h", "problems")


def human_bytes(count):
    return "-" if count is None else facts_human_bytes(count)


def cell(value):
    if value is None or value == "":
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    return " ".join(str(value).split())  # a newline in a logged reason must not break the table


def host_entry(host, result):
    result = result if isinstance(result, dict) else {}
    if result.get("unreachable"):
        return {"host": host, "state": "unreachable", "message": cell(result.get("msg")), "status": None}
    status = result.get("status")
    if result.get("failed") or not isinstance(status, dict):
        return {"host": host, "state": "error", "message": cell(result.get("msg") or "no status returned"),
                "status": None}
    return {"host": host, "state": status.get("state", "ok"), "message": None, "status": status}


def rows_of(entry):
    status = entry["status"]
    if status is None:
        return [[entry["host"], "-", entry["state"]] + ["-"] * (len(COLUMNS) - 4) + [entry["message"]]]
    rows = []
    exit_code = status.get("exit_code")
    exit_text = "-" if exit_code is None else f"{exit_code} ({status.get('exit_meaning')})"
    for bucket in status.get("buckets") or [{"bucket": "-", "problems": []}]:
        drill = bucket.get("drill_verdict") or "never"
        # A bucket the guard held (docs/guard.md) says so in the state column: it needs a decision.
        state = "held" if bucket.get("last_result") == "held" else entry["state"]
        rows.append([entry["host"], bucket["bucket"], state, cell(bucket.get("last_success")),
                     cell(bucket.get("last_success_age_hours")), cell(bucket.get("objects")),
                     human_bytes(bucket.get("bytes")), cell(bucket.get("duration_seconds")), exit_text, drill,
                     cell(bucket.get("drill_age_days")), cell(bucket.get("restorable_since")), estimate(bucket),
                     cell("; ".join(bucket.get("problems") or [])) if bucket.get("problems") else "-"])
    return rows


def estimate(bucket):
    """The last rehearsal's whole-bucket restore estimate in hours, marked when it exceeds the budget."""
    hours, budget = bucket.get("restore_estimate_hours"), bucket.get("rto_budget_hours")
    if hours is None:
        return "-"
    return f"{hours:g} (over {budget:g})" if budget is not None and hours > budget else f"{hours:g}"


def render(rows):
    widths = [max(len(row[i]) for row in [list(COLUMNS), *rows]) for i in range(len(COLUMNS))]
    return ["  ".join(text.ljust(width) for text, width in zip(row, widths, strict=True)).rstrip()
            for row in [list(COLUMNS), *rows]]


def problems_of(entry):
    if entry["status"] is None:
        return [f"{entry['host']} - {entry['state']}: {entry['message']}"]
    return [f"{entry['host']} {bucket['bucket']} - {problem}"
            for bucket in entry["status"].get("buckets") or [] for problem in bucket.get("problems") or []]


def main():
    module = AnsibleModule(argument_spec={"results": {"type": "dict", "required": True}}, supports_check_mode=True)
    entries = [host_entry(host, result) for host, result in sorted(module.params["results"].items())]
    rows = [row for entry in entries for row in rows_of(entry)]
    module.exit_json(changed=False, table=render(rows), hosts=entries,
                     problems=[p for entry in entries for p in problems_of(entry)])


if __name__ == "__main__":
    main()
