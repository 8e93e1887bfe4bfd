"""--as-of parsing and the inclusive "version current at T" rule; mc's --rewind parsing in the double."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from dream_backup import pointintime
from dream_backup.engines.history import Version
from dream_backup.errors import EXIT_REFUSED, ConfigError
from tests.support.mc_double import Fatal
from tests.support.mc_double_history import parse_rewind

NOW = datetime(2026, 11, 29, 12, 0, 0, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-11-28T01:00:00Z", at("2026-11-28T01:00:00")),
    ("2026-11-28T06:30:00+05:30", at("2026-11-28T01:00:00")),
    ("2026-11-27T20:00:00-05:00", at("2026-11-28T01:00:00")),
    ("2026-11-28T01:00:00.250Z", at("2026-11-28T01:00:00.250000")),
    ("2026-11-28T01:00:00.123456789Z", at("2026-11-28T01:00:00.123456")),
    ("2026-11-28", at("2026-11-28T00:00:00")),
    ("36h", NOW - timedelta(hours=36)),
    ("7d", NOW - timedelta(days=7)),
    ("30m", NOW - timedelta(minutes=30)),
    ("1d12h", NOW - timedelta(hours=36)),
    ("90s", NOW - timedelta(seconds=90)),
])
def test_accepted_forms(text, expected):
    assert pointintime.parse(text, now=NOW) == expected


@pytest.mark.parametrize("text", ["", "yesterday", "2026-13-01", "2026-11-28T25:00:00Z", "-3h", "3 h", "2026.11.28",
                                  "2026-11-28T01:00:00", "7w", "1700000000", "2026-02-30"])
def test_other_forms_are_refused_with_one_line_naming_the_accepted_ones(text):
    with pytest.raises(ConfigError) as caught:
        pointintime.parse(text, now=NOW)
    message = str(caught.value)
    assert caught.value.exit_code == EXIT_REFUSED and "\n" not in message
    assert "RFC 3339" in message and "2026-11-28" in message and "36h" in message


def version(key, stamp, vid, marker=False, size=1):
    return Version(key, vid, at(stamp), 0 if marker else size, delete_marker=marker)


HISTORY = {  # newest first, as the engines return them
    "a": [version("a", "2026-11-28T03:00:00", "a3", size=3), version("a", "2026-11-28T02:00:00", "a2", size=2),
          version("a", "2026-11-28T01:00:00", "a1", size=1)],
    "gone": [version("gone", "2026-11-28T02:00:00", "g2", marker=True),
             version("gone", "2026-11-28T01:00:00", "g1")],
    "late": [version("late", "2026-11-28T02:30:00", "l1")],
}


def test_t_equal_to_a_version_time_includes_that_version():
    chosen = pointintime.state_at(HISTORY, at("2026-11-28T02:00:00"))
    assert chosen["a"].version_id == "a2"


def test_one_microsecond_earlier_picks_the_older_version():
    chosen = pointintime.state_at(HISTORY, at("2026-11-28T02:00:00") - timedelta(microseconds=1))
    assert chosen["a"].version_id == "a1" and chosen["gone"].version_id == "g1"


def test_a_delete_marker_at_t_means_the_key_did_not_exist():
    assert "gone" not in pointintime.state_at(HISTORY, at("2026-11-28T02:00:00"))
    assert "gone" not in pointintime.state_at(HISTORY, at("2026-11-29T00:00:00"))


def test_keys_created_after_t_are_left_out():
    chosen = pointintime.state_at(HISTORY, at("2026-11-28T02:29:59"))
    assert set(chosen) == {"a"}  # "gone" is hidden by its delete marker, "late" did not exist yet
    assert pointintime.state_at(HISTORY, at("2026-11-28T00:59:59")) == {}
    assert pointintime.state_at(HISTORY, at("2026-11-28T02:30:00"))["late"].version_id == "l1"


def test_versions_of_unknown_time_are_never_chosen():
    history = [Version("x", "", None, 0, delete_marker=True, latest=True), version("x", "2026-11-28T01:00:00", "x1")]
    assert pointintime.pick(history, at("2026-11-28T05:00:00")).version_id == "x1"


@pytest.fixture
def rewind(monkeypatch):
    """mc's --rewind parsing in the double, with the machine's local zone set to ``tz`` (in-process:
    TZ + tzset, undone afterwards; a subprocess per case cost seconds)."""
    def parse(text: str, tz: str) -> str:
        monkeypatch.setenv("TZ", tz)
        time.tzset()
        now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC).astimezone()
        try:
            return parse_rewind(text, now).astimezone(UTC).isoformat()
        except Fatal as exc:
            return f"fatal: {exc}"
    yield parse
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(("text", "tz", "utc"), [
    ("2026.11.28", "Asia/Kolkata", "2026-11-27T18:30:00+00:00"),
    ("2026.11.28T06:30", "Asia/Kolkata", "2026-11-28T01:00:00+00:00"),
    ("2026.11.28T06:30:15", "Asia/Kolkata", "2026-11-28T01:00:15+00:00"),
    ("2026.11.28T06:30:15", "UTC", "2026-11-28T06:30:15+00:00"),
    ("2026-11-28T06:30:15+05:30", "UTC", "2026-11-28T01:00:15+00:00"),
    ("7d", "Asia/Kolkata", "2026-11-22T12:00:00+00:00"),
    ("10d2h", "UTC", "2026-11-19T10:00:00+00:00"),
    ("30m", "UTC", "2026-11-29T11:30:00+00:00"),
])
def test_mc_rewind_reads_dotted_forms_in_the_local_time_zone(rewind, text, tz, utc):
    assert rewind(text, tz) == utc


@pytest.mark.parametrize("text", ["-1h", "yesterday", "2026-11-28", "2026/11/28"])
def test_mc_rewind_refuses_negative_durations_and_other_forms(rewind, text):
    assert rewind(text, "UTC").startswith("fatal: ")
