"""`dream-backup check` (commands/check.py): how the target's lifecycle and object lock are reported.
The check against real servers and keys: tests/integration/test_target_bucket.py and
tests/integration/test_least_privilege.py."""

from __future__ import annotations

import pytest

from dream_backup.commands import check
from dream_backup.engines.history import UNKNOWN, Protection
from dream_backup.engines.rclone import RcloneEngine
from dream_backup.log import Scrubber


class Reads:
    """An engine's answer about the target bucket (what engine.protection() returns)."""

    def __init__(self, protection: Protection):
        self.found = protection

    def protection(self, bucket):
        assert bucket == "dcs-backup"
        return self.found


def test_rclone_cannot_read_either_and_says_so(make_config):
    config = make_config(BACKUP_ENGINE="rclone")
    engine = RcloneEngine(config, Scrubber())
    try:
        lifecycle, lock = check.protection_checks(engine, config)
    finally:
        engine.close()
    assert lifecycle == {"check": "target lifecycle", "ok": True, "detail": "unknown (engine rclone cannot read it)",
                         "lifecycle": None}
    assert lock["detail"] == "unknown (engine rclone cannot read it)" and lock["object_lock"] is None


@pytest.mark.parametrize(("found", "detail", "warning"), [
    (Protection(lifecycle="none", lock_mode="off"), "no noncurrent-version rule: history would grow without bound",
     True),
    (Protection(lifecycle="rule", noncurrent_days=30, keep_newer=3, lock_mode="off"),
     "noncurrent versions expire after 30 days, keep the 3 newest", False),
])
def test_lifecycle(make_config, found, detail, warning):
    lifecycle, lock = check.protection_checks(Reads(found), make_config())
    assert lifecycle["detail"] == detail and lifecycle.get("warning", False) is warning and lifecycle["ok"]
    assert lock == {"check": "target object lock", "ok": True, "detail": "off", "object_lock": {"mode": None}}


def test_object_lock_and_why_mc_could_not_read_it(make_config):
    _, lock = check.protection_checks(Reads(Protection(lock_mode="COMPLIANCE", lock_days=7)), make_config())
    assert lock["detail"] == "COMPLIANCE 7 days" and lock["object_lock"] == {"mode": "COMPLIANCE", "days": 7}
    lifecycle, lock = check.protection_checks(
        Reads(Protection(lifecycle=UNKNOWN, lock_mode=UNKNOWN, why_unknown="AccessDenied")), make_config())
    assert lifecycle["detail"] == lock["detail"] == "unknown (AccessDenied)"
