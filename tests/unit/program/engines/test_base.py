"""The engines' shared parsing: server times in every form mc and rclone print them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dream_backup.engines.base import Location, iter_json_objects, last_line, parse_time


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-11-28T01:00:00Z", utc(2026, 11, 28, 1, 0, 0)),
    ("2026-11-28T01:00:00", utc(2026, 11, 28, 1, 0, 0)),  # no zone: UTC, as the servers mean it
    ("2026-11-28T01:00:00+00:00", utc(2026, 11, 28, 1, 0, 0)),
    ("2026-11-28T06:30:00+05:30", utc(2026, 11, 28, 1, 0, 0)),
    ("2026-11-27T20:00:00-05:00", utc(2026, 11, 28, 1, 0, 0)),
    ("2026-11-28T00:30:00-01:00", utc(2026, 11, 28, 1, 30, 0)),
    ("2026-12-31T23:30:00-01:00", utc(2027, 1, 1, 0, 30, 0)),  # the offset crosses a year
    ("2026-11-28T01:00:00.5Z", utc(2026, 11, 28, 1, 0, 0, 500000)),
    ("2026-11-28T01:00:00.123Z", utc(2026, 11, 28, 1, 0, 0, 123000)),
    ("2026-11-28T01:00:00.123456Z", utc(2026, 11, 28, 1, 0, 0, 123456)),
    # rclone and mc print nanoseconds; Python keeps microseconds: truncated, never rounded up a second.
    ("2026-11-28T01:00:00.123456789Z", utc(2026, 11, 28, 1, 0, 0, 123456)),
    ("2026-11-28T01:00:59.999999999+02:00", utc(2026, 11, 27, 23, 0, 59, 999999)),
    ("  2026-11-28T01:00:00Z\n", utc(2026, 11, 28, 1, 0, 0)),
])
def test_parse_time_gives_aware_utc(text, expected):
    parsed = parse_time(text)
    assert parsed == expected
    assert parsed.tzinfo == UTC


@pytest.mark.parametrize("text", [
    None, "", "garbage", "2026-11-28", "2026-11-28 01:00:00Z", "2026-11-28T01:00Z", "2026-11-28T01:00:00.Z",
    "2026-11-28T01:00:00+0100", "2026-11-28T01:00:00 UTC", "28/11/2026 01:00:00", "1764291600",
    # The shape is right but the calendar is not: no time is better than a guessed one.
    "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-11-28T25:00:00Z", "2026-11-28T01:00:00+25:00",
])
def test_parse_time_of_anything_else_is_none(text):
    assert parse_time(text) is None


def test_location_join_skips_empty_parts():
    assert Location("backup", "dcs-backup", "vps1/books").join("book-1/a.txt") == "dcs-backup/vps1/books/book-1/a.txt"
    assert Location("source", "books").join() == "books"
    assert Location("source", "books").join("k") == "books/k"


def test_iter_json_objects_reads_objects_spanning_lines_and_skips_noise():
    text = 'mc: warning\n{"status": "error",\n "error": {"message": "x"}}\n[1, 2]\n{broken\n{"status": "success"}\n'
    assert list(iter_json_objects(text)) == [{"status": "error", "error": {"message": "x"}}, {"status": "success"}]


def test_last_line_is_scrubbed_and_bounded():
    assert last_line("first\n\n  last secret  \n\n", lambda s: s.replace("secret", "***")) == "last ***"
    assert last_line("", str) == ""
    assert len(last_line("x" * 600, str)) == 500
