"""Filter backup_status_report: one table and one problem list for the fleet, every host state named."""

from __future__ import annotations

import importlib.util

import pytest

from tests.support.program import REPO

spec = importlib.util.spec_from_file_location("dcs_filter_backup_status_report",
                                              REPO / "filter_plugins" / "backup_status_report.py")
fleet = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fleet)

BUCKET = {"bucket": "books", "last_success": "2026-11-29T03:00:41Z", "last_success_age_hours": 30.5,
          "objects": 12, "bytes": 3145728, "duration_seconds": 4.25, "drill_verdict": None, "drill_age_days": None,
          "restorable_since": None, "problems": ["last success 30.5 h ago (max 26 h)"]}


def status(state="ok", buckets=None, exit_code=0):
    return {"changed": False, "status": {"state": state, "exit_code": exit_code, "exit_meaning": "success",
                                         "buckets": [BUCKET] if buckets is None else buckets}}


@pytest.fixture
def report():
    return fleet.FilterModule().filters()["backup_status_report"]


def test_every_host_state_is_a_row_and_problems_name_host_and_bucket(report):
    result = report({
        "vps2": {"unreachable": True, "msg": "Failed to connect to the host via ssh", "changed": False},
        "vps1": status(),
        "vps3": {"failed": True, "msg": "/usr/bin/python3: not found"},
        "vps4": status("running", buckets=[dict(BUCKET, bucket="apps", problems=[])]),
        "vps5": status("no metrics", buckets=[dict(BUCKET, bucket="apps", problems=[], objects=None, bytes=None)]),
    })
    header, *rows = result["table"]
    assert header.split()[:3] == ["host", "bucket", "state"]
    states = {row.split()[0]: row.split()[2] for row in rows}
    assert states == {"vps1": "ok", "vps2": "unreachable", "vps3": "error", "vps4": "running", "vps5": "no"}
    assert "no metrics" in rows[4] and "3.0 MiB" in rows[0] and "30.5" in rows[0]
    assert result["problems"] == ["vps1 books - last success 30.5 h ago (max 26 h)",
                                  "vps2 - unreachable: Failed to connect to the host via ssh",
                                  "vps3 - error: /usr/bin/python3: not found"]
    assert [h["state"] for h in result["hosts"]] == ["ok", "unreachable", "error", "running", "no metrics"]


def test_columns_line_up_and_a_newline_in_a_reason_stays_on_its_row(report):
    result = report({"a-long-host-name": status(buckets=[dict(BUCKET, problems=["Mirror failed:\nline two"])]),
                     "b": status(buckets=[dict(BUCKET, bucket="apps", problems=[])])})
    assert len(result["table"]) == 3
    starts = {line.index("books") if "books" in line else line.index("apps") for line in result["table"][1:]}
    assert len(starts) == 1 and "Mirror failed: line two" in result["table"][1]


def test_healthy_fleet_has_no_problem(report):
    healthy = status(buckets=[dict(BUCKET, problems=[], last_success_age_hours=1.0)])
    assert report({"vps1": healthy})["problems"] == []


def test_sizes_are_worded_as_in_the_programs_own_tables():
    """The program's tables and the fleet table word a size with one function (module_utils/dcs_facts.py,
    stored in the zipapp as dream_backup/facts.py): an operator reading both sees the same words."""
    spec = importlib.util.spec_from_file_location("dcs_facts_for_test", REPO / "src" / "dream_backup" / "facts.py")
    program = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(program)
    sizes = [0, 1, 1023, 1024, 1536, 3145728, 1024**3 - 1, 5 * 1024**4, 3 * 1024**5]
    assert [fleet.human_bytes(n) for n in sizes] == [program.human_bytes(n) for n in sizes]
    assert program.human_bytes(3145728) == "3.0 MiB" and program.human_bytes(3 * 1024**5) == "3072.0 TiB"
    assert fleet.human_bytes(None) == "-"


def test_restore_estimate_column_marks_an_estimate_over_its_budget(report):
    result = report({"vps1": status(buckets=[
        dict(BUCKET, bucket="books", problems=[], restore_estimate_hours=30.5, rto_budget_hours=24),
        dict(BUCKET, bucket="apps", problems=[], restore_estimate_hours=1.25, rto_budget_hours=24),
        dict(BUCKET, bucket="trash", problems=[])])})
    header, books, apps, trash = result["table"]
    column = header.index("restore est h")
    assert books[column:].startswith("30.5 (over 24)")
    assert apps[column:].startswith("1.25 ") and trash[column:].startswith("- ")
