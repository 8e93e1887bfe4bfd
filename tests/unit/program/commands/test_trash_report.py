"""The Admin Panel's countdown: 'Eligible in N days' until the retention period has fully passed, then
'Eligible now' (from the second it has)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dream_backup.commands.trash_report import DAY, countdown, parse_now
from dream_backup.errors import EXIT_REFUSED, ConfigError

WEEK = 7 * DAY


@pytest.mark.parametrize(("age", "expected"), [
    (0.0, (7, "Eligible in 7 days")),
    (1.0, (7, "Eligible in 7 days")),  # 6 days 23:59:59 left: the Admin Panel rounds up
    (DAY - 1, (7, "Eligible in 7 days")),
    (DAY, (6, "Eligible in 6 days")),
    (DAY + 1, (6, "Eligible in 6 days")),
    (6 * DAY - 1, (2, "Eligible in 2 days")),
    (6 * DAY, (1, "Eligible in 1 day")),
    (WEEK - 1, (1, "Eligible in 1 day")),  # one second before: not yet
    (WEEK, (0, "Eligible now")),  # exactly 7 days
    (WEEK + 1, (0, "Eligible now")),  # one second after
    (30 * DAY, (0, "Eligible now")),
])
def test_countdown_at_its_boundaries(age, expected):
    assert countdown(age, 7) == expected


def test_countdown_follows_the_configured_period():
    assert countdown(0.0, 30) == (30, "Eligible in 30 days")
    assert countdown(DAY - 0.001, 1) == (1, "Eligible in 1 day")
    assert countdown(DAY, 1) == (0, "Eligible now")


def test_a_clock_behind_the_server_still_counts_the_whole_period():
    # An object modified "in the future" (clock skew) is not eligible earlier.
    assert countdown(-3600.0, 7) == (8, "Eligible in 8 days")


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-11-27T12:00:00Z", datetime(2026, 11, 27, 12, tzinfo=UTC)),
    ("2026-11-27T13:00:00+01:00", datetime(2026, 11, 27, 12, tzinfo=UTC)),
    ("2026-11-27", datetime(2026, 11, 27, tzinfo=UTC)),
])
def test_now_is_any_rfc3339_time_or_a_date(text, expected):
    assert parse_now(text) == expected


def test_now_defaults_to_the_clock():
    before = datetime.now(UTC)
    now = parse_now(None)
    assert before <= now <= datetime.now(UTC)


@pytest.mark.parametrize("text", ["yesterday", "2026-11-27 12:00", "2026-02-30", "27.11.2026"])
def test_now_that_is_no_time_is_refused(text):
    with pytest.raises(ConfigError) as raised:
        parse_now(text)
    assert raised.value.exit_code == EXIT_REFUSED
    assert str(raised.value) == f"--now '{text}' is not an ISO 8601 time such as 2026-11-27T12:00:00Z"
