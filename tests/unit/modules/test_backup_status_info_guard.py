"""The status play shows a bucket the guard held (docs/guard.md) as `held`, with its counts and the
logged reason, in the host's status and in the fleet table."""

from __future__ import annotations

import importlib.util
import time

from tests.support.program import REPO
from tests.unit.modules.test_backup_status_info import by_bucket, host, stamp, status  # noqa: F401 - host is a fixture

spec = importlib.util.spec_from_file_location("dcs_filter_backup_status_report_guard",
                                              REPO / "filter_plugins" / "backup_status_report.py")
fleet_filter = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fleet_filter)
REASON = "held by the guard: 60 objects would be overwritten, 0 deleted at the source since the last successful backup"


def test_held_bucket_shows_held_with_its_counts(run_module, host):  # noqa: F811 - the fixture
    now = time.time()
    host.write_metrics({"books": now - 90000, "apps": now - 600}, ok={"books": 0}, exit_code=1)
    with host.metrics.open("a") as handle:
        handle.write('dream_backup_changed_objects{bucket="books"} 60\ndream_backup_deleted_objects{bucket="books"} 0\n'
                     'dream_backup_bucket_held{bucket="books"} 1\ndream_backup_changed_objects{bucket="apps"} 0\n'
                     'dream_backup_deleted_objects{bucket="apps"} 0\ndream_backup_bucket_held{bucket="apps"} 0\n')
    host.log_lines({"ts": stamp(now - 50), "level": "ERROR", "message": "Mirror held", "bucket": "books",
                    "reason": REASON})
    report = status(run_module, host)
    books, apps = by_bucket(report)["books"], by_bucket(report)["apps"]
    assert (books["last_result"], books["changed_objects"], books["deleted_objects"]) == ("held", 60, 0)
    assert books["last_failure_reason"] == REASON
    assert "books - held by the guard: 60 changed, 0 deleted at the source; restore production or accept the " \
           "change (docs/guard.md)" in report["problems"]
    assert (apps["last_result"], apps["changed_objects"]) == ("ok", 0)

    fleet = fleet_filter.backup_status_report({"vps1": {"status": report}})
    rows = [line.split() for line in fleet["table"][1:]]
    assert [row[:3] for row in rows] == [["vps1", "books", "held"], ["vps1", "apps", "ok"]]


def test_held_from_the_log_alone_without_metrics(run_module, host):  # noqa: F811 - the fixture
    host.log_lines({"ts": stamp(time.time() - 50), "level": "ERROR", "message": "Mirror held", "bucket": "books",
                    "reason": REASON})
    host.metrics.unlink(missing_ok=True)
    report = status(run_module, host)
    books = by_bucket(report)["books"]
    assert books["last_result"] == "held" and books["last_failure_reason"] == REASON
    assert "books - held by the guard (its reason is in the log); restore production or accept the change " \
           "(docs/guard.md)" in report["problems"]
