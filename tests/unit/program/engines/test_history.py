"""What both engines share for the backup's history (engines/history.py): versions as objects, each key's
versions newest first, and the 'latest' flag breaking ties within one second."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dream_backup.engines.base import Obj
from dream_backup.engines.history import UNKNOWN, Protection, Version, _Chosen, newest_first

T = datetime(2026, 11, 28, 1, 0, 0, tzinfo=UTC)


def test_a_version_is_an_object_with_its_size_time_and_md5():
    assert Version("k", "v1", T, 3, "m").as_obj() == Obj("k", 3, T, "m")


def test_newest_first_by_time_with_latest_first_within_a_second():
    old = Version("k", "v1", T, 1)
    new = Version("k", "v2", T + timedelta(hours=1), 2)
    tie_latest = Version("k", "v3", T + timedelta(hours=1), 3, latest=True)
    marker = Version("j", "", None, 0, delete_marker=True, latest=True)
    older_of_j = Version("j", "v0", T, 1)
    ordered = newest_first({"k": [old, tie_latest, new], "j": [older_of_j, marker]})
    assert ordered == {"k": [tie_latest, new, old], "j": [marker, older_of_j]}


def test_chosen_versions_are_a_plan_in_key_order():
    chosen = _Chosen({"b": Version("b", "2", T, 1), "a": Version("a", "1", T, 1)})
    assert len(chosen) == 2 and [v.key for v in chosen.versions()] == ["a", "b"]


def test_protection_is_unknown_until_read():
    assert (Protection().lifecycle, Protection().lock_mode, Protection().noncurrent_days) == (UNKNOWN, UNKNOWN, None)
