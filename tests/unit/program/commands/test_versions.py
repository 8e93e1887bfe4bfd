"""`dream-backup versions` (commands/versions.py): the one-line summary of a key's history. Listing
through real engines: tests/integration/test_history.py."""

from __future__ import annotations

from datetime import UTC, datetime

from dream_backup.commands import versions
from dream_backup.engines.history import Version

T1 = datetime(2026, 11, 27, 1, tzinfo=UTC)
T2 = datetime(2026, 11, 28, 1, tzinfo=UTC)


def test_summary_of_a_current_key():
    history = [Version("a", "v2", T2, 2048, latest=True), Version("a", "v1", T1, 10)]
    assert versions.summary("books/a", history) == (
        "books/a: 2 versions, current 2026-11-28T01:00:00Z (2.0 KiB), oldest 2026-11-27T01:00:00Z")


def test_summary_of_a_deleted_key_counts_no_delete_marker():
    history = [Version("a", "", None, 0, delete_marker=True, latest=True), Version("a", "v1", T1, 10)]
    assert versions.summary("a", history) == "a: 1 versions, deleted, oldest 2026-11-27T01:00:00Z"
    assert versions.summary("a", []) == "a: 0 versions, deleted, oldest -"
