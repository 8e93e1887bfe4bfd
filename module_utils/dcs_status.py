"""The verdict of module backup_status_info on one bucket: its report and problems, computed from what the
facts parsers (dcs_facts) read from the metrics file, the backup log and the drill logbook. Computes only."""

from __future__ import annotations

from ansible_collections.dream.backup.plugins.module_utils.dcs_facts import (
    BUCKET_HELD,
    BUCKET_SUCCESS,
    BYTES,
    CHANGED_OBJECTS,
    DELETED_OBJECTS,
    DRILL_LAST_SUCCESS,
    DURATION,
    ESTIMATED_RESTORE,
    LAST_SUCCESS,
    MIRROR_HELD,
    MIRROR_RESULTS,
    OBJECTS,
    REHEARSAL_LAST_SUCCESS,
    RTO_BUDGET,
    iso,
)


def hours(now, epoch):
    return None if epoch is None else round((now - epoch) / 3600, 2)


def days(now, epoch):
    return None if epoch is None else round((now - epoch) / 86400, 2)


def count(value):
    return None if value is None else int(value)


def rehearsal_fields(name, metrics, drilled, now):
    """The bucket's restore-time estimate and budget (hours) and its last passing rehearsal: from the
    metrics file, else from the logbook's last passing rehearsal record."""
    logged = drilled.get("rehearsal") or {}
    passed = metrics.get((REHEARSAL_LAST_SUCCESS, name))
    estimate = metrics.get((ESTIMATED_RESTORE, name))
    budget = metrics.get((RTO_BUDGET, name))
    if passed is None or (logged.get("time") is not None and logged["time"] > passed):
        passed, estimate, budget = logged.get("time"), logged.get("estimate"), logged.get("budget")
    return {"restore_estimate_hours": None if estimate is None else round(estimate / 3600, 2),
            "rto_budget_hours": None if budget is None else round(budget / 3600, 2),
            "rehearsal_last_pass": iso(passed), "rehearsal_age_days": days(now, passed)}


def bucket_report(name, metrics, log, drill, now, params):
    m = {metric: metrics.get((metric, name)) for metric in (
        LAST_SUCCESS, BUCKET_SUCCESS, OBJECTS, BYTES, DURATION, DRILL_LAST_SUCCESS, CHANGED_OBJECTS,
        DELETED_OBJECTS, BUCKET_HELD)}
    logged = log.get(name, {})
    drilled = drill.get(name, {})
    success, source = m[LAST_SUCCESS], "metrics"
    if success is None and logged.get("completed") is not None:
        success, source = logged["completed"], "log"
    if m[BUCKET_SUCCESS] is not None:
        result = "ok" if m[BUCKET_SUCCESS] == 1 else "failed"
    else:
        result = MIRROR_RESULTS.get(logged.get("last"))
    if m[BUCKET_HELD] == 1 or (result == "failed" and logged.get("last") == MIRROR_HELD):
        result = "held"  # the guard held the night (docs/guard.md): a failure that needs a decision
    last_pass = m[DRILL_LAST_SUCCESS]
    if drilled.get("last_pass") is not None and (last_pass is None or drilled["last_pass"] > last_pass):
        last_pass = drilled["last_pass"]
    report = {
        "bucket": name,
        "last_success": iso(success),
        "last_success_age_hours": hours(now, success),
        "last_success_source": source if success is not None else None,
        "last_result": result,
        "last_failure_reason": logged.get("reason") if result in ("failed", "held") else None,
        "changed_objects": count(m[CHANGED_OBJECTS]),
        "deleted_objects": count(m[DELETED_OBJECTS]),
        "objects": count(m[OBJECTS]),
        "bytes": count(m[BYTES]),
        "duration_seconds": m[DURATION],
        "drill_verdict": drilled.get("verdict"),
        "drill_note": drilled.get("note"),
        "drill_time": iso(drilled.get("time")),
        "drill_age_days": days(now, drilled.get("time")),
        "drill_last_pass": iso(last_pass),
        "drill_last_pass_age_days": days(now, last_pass),
        "restorable_since": drilled.get("restorable_since"),
        **rehearsal_fields(name, metrics, drilled, now),
    }
    report["problems"] = problems(report, success, result, drilled, last_pass, now, params)
    return report


def problems(report, success, result, drilled, last_pass, now, params):
    found = []
    if success is None:
        found.append("no successful backup recorded")
    elif now - success > params["max_age_hours"] * 3600:  # unrounded: a limit of 0 h fails a success 10 s old
        found.append(f"last success {report['last_success_age_hours']} h ago (max {params['max_age_hours']:g} h)")
    if result == "held":
        counts = (f": {report['changed_objects']} changed, {report['deleted_objects']} deleted at the source"
                  if report["changed_objects"] is not None else " (its reason is in the log)")
        found.append(f"held by the guard{counts}; restore production or accept the change (docs/guard.md)")
    if drilled.get("verdict") not in (None, "pass"):
        found.append(f"last drill {drilled.get('verdict')} on {report['drill_time']}"
                     + (f" ({drilled['note']})" if drilled.get("note") else ""))
    if last_pass is None:
        if params["require_drill"]:
            found.append("never passed a restore drill")
    elif now - last_pass > params["max_drill_age_days"] * 86400:
        found.append(f"last passing drill {report['drill_last_pass_age_days']} days ago "
                     f"(max {params['max_drill_age_days']:g} days)")
    return found
