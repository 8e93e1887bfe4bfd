"""Filter `backup_status_report`: every host's backup_status result as one fleet table and one list of
problems. Runs on the controller and computes only (no file read or written).

    {{ dict(ansible_play_hosts_all | zip(ansible_play_hosts_all | map('extract', hostvars, 'registered')))
       | backup_status_report }}

returns ``table`` (the fleet table: a header line, then one line per host and bucket), ``hosts`` (per host
its state and, when it answered, the status backup_status returned) and ``problems`` (each as
``host bucket - text``, or ``host - text`` for a host-level one). A host whose result says it was
unreachable is shown as ``unreachable``, one whose status could not be read as ``error`` with the message:
both are problems. A host holding the lock is ``running``, one without a metrics file ``no metrics``."""

from __future__ import annotations

from ansible_collections.dream.backup.plugins.module_utils import dcs_facts

COLUMNS = ("host", "bucket", "state", "last success", "age h", "objects", "bytes", "duration s", "exit",
           "drill", "drill age d", "restorable since", "restore est h", "problems")


def human_bytes(count):
    return "-" if count is None else dcs_facts.human_bytes(count)


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


def backup_status_report(results):
    """``results``: host name to the result it registered from backup_status (also failed or unreachable)."""
    entries = [host_entry(host, result) for host, result in sorted((results or {}).items())]
    rows = [row for entry in entries for row in rows_of(entry)]
    return {"table": render(rows), "hosts": entries, "problems": [p for entry in entries for p in problems_of(entry)]}


class FilterModule:
    def filters(self):
        return {"backup_status_report": backup_status_report}
