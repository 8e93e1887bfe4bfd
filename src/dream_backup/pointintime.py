"""Points in time for `--as-of`, and the version of a key that was current at one.

The rule is inclusive: the version current at T is the newest one whose last-modified time is not
later than T. A key whose version at T is a delete marker, or that had no version yet, did not exist
at T. Servers keep whole seconds, so T equal to a backup run's second includes that run."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from dream_backup.errors import ConfigError

ACCEPTED_FORMS = ("accepted: RFC 3339 (2026-11-28T01:00:00Z, any offset), a date (2026-11-28, UTC midnight) "
                  "or a duration back from now (36h, 7d, 30m, 1d12h)")
_DURATION = re.compile(r"^(?:\d+[dhms])+$")
_PART = re.compile(r"(\d+)([dhms])")
_UNIT = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_RFC3339 = re.compile(r"^\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(?:\.\d+)?(?:[Zz]|[+-]\d\d:\d\d)$")
_DATE = re.compile(r"^\d{4}-\d\d-\d\d$")


def parse(text: str, now: datetime | None = None) -> datetime:
    """An aware UTC datetime for ``text``; ConfigError (exit 2) naming the accepted forms otherwise."""
    value = (text or "").strip()
    now = now or datetime.now(UTC)
    try:
        if _DURATION.match(value):
            seconds = sum(int(n) * _UNIT[u] for n, u in _PART.findall(value))
            return (now - timedelta(seconds=seconds)).astimezone(UTC)
        if _DATE.match(value):
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        if _RFC3339.match(value):
            stamp = value.replace("z", "Z").replace("t", "T").replace(" ", "T").replace("Z", "+00:00")
            head, dot, rest = stamp.partition(".")
            if dot:  # fromisoformat of Python 3.11 takes at most microseconds
                digits = re.match(r"\d+", rest).group(0)
                stamp = f"{head}.{(digits + '000000')[:6]}{rest[len(digits):]}"
            return datetime.fromisoformat(stamp).astimezone(UTC)
    except (ValueError, OverflowError):
        pass
    raise ConfigError(f"--as-of {value!r} is not a point in time; {ACCEPTED_FORMS}")


def pick(history, when: datetime):
    """The version of one key current at ``when`` (history newest first), or None when the key did
    not exist then (no version yet, or a delete marker)."""
    for version in history:
        if version.mtime is not None and version.mtime <= when:
            return None if version.delete_marker else version
    return None


def state_at(histories: dict, when: datetime) -> dict:
    """Per key, the version current at ``when``; keys that did not exist then are left out."""
    chosen = {}
    for key, history in histories.items():
        version = pick(history, when)
        if version is not None:
            chosen[key] = version
    return chosen


def stamp(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else "unknown"
