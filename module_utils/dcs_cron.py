"""Validation and rendering of /etc/cron.d job files (cron's own rules, checked before writing)."""

from __future__ import annotations

import re
import shlex

from ansible_collections.dream.backup.plugins.module_utils.dcs_text import CONTROL_REASON, has_control_characters

# \Z, not $: '$' also matches before a final newline, which would let "root\n" through.
NAME = re.compile(r"^[A-Za-z0-9_-]+\Z")
SPECIAL = ("@reboot", "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# name, low, high, names (index 0 maps to `low`)
FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, MONTHS),
    ("day of week", 0, 7, DAYS),
)
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
# An odd run of backslashes right before a '%': cron cannot carry that (see cron_escape).
_BACKSLASH_PERCENT = re.compile(r"(?<!\\)\\(?:\\\\)*%")


def _number(token, low, high, names):
    lowered = token.lower()
    if lowered in names:
        return names.index(lowered) + low
    if not (token.isascii() and token.isdigit()):  # isdigit() alone accepts '²' and Arabic-Indic digits
        raise ValueError("'{}' is not a number{}".format(token, " or a name" if names else ""))
    value = int(token)
    if not low <= value <= high:
        raise ValueError(f"{value} is outside {low}-{high}")
    return value


def _check_field(text, low, high, names):
    for item in text.split(","):
        if not item:
            raise ValueError("empty list entry")
        base, _slash, step = item.partition("/")
        if step and (not step.isdigit() or int(step) == 0):
            raise ValueError(f"step '{step}' must be a positive number")
        if base == "*":
            continue
        start, dash, end = base.partition("-")
        first = _number(start, low, high, names)
        if dash:
            last = _number(end, low, high, names)
            if last < first:
                raise ValueError(f"range '{base}' runs backwards")
        elif step:
            raise ValueError(f"a step needs '*' or a range, not '{item}'")


def schedule_error(schedule):
    """Why ``schedule`` is not a valid cron schedule, or None."""
    if has_control_characters(schedule):
        return CONTROL_REASON
    text = schedule.strip()
    if text.startswith("@"):
        return None if text in SPECIAL else "'{}' is not one of {}".format(text, ", ".join(SPECIAL))
    fields = text.split()
    if len(fields) != 5:
        return f"must have five fields (minute hour day-of-month month day-of-week), got {len(fields)}"
    for field, (label, low, high, names) in zip(fields, FIELDS, strict=True):
        try:
            _check_field(field, low, high, names)
        except ValueError as exc:
            return f"{label} field '{field}': {exc}"
    return None


def percent_error(text):
    """Why cron cannot carry ``text`` in a command, or None (see cron_escape)."""
    if _BACKSLASH_PERCENT.search(text):
        return ("has a backslash right before a '%', which cron cannot pass on (cron reads '\\%' as '%'); "
                "write a plain '%': it is escaped for cron")
    return None


def cron_escape(text):
    """``text`` as cron must see it to run exactly ``text``: each '%' written as '\\%'.

    cron cuts a job's command at the first unescaped '%' (the rest becomes stdin, further '%' become
    newlines), turns '\\%' into '%' and leaves any other backslash pair as it is. So a backslash
    followed by '%' cannot be expressed at all: '\\\\%' is a kept pair and then an unescaped '%'.
    Raises ValueError for such text (callers check percent_error first, with a better message)."""
    if percent_error(text):
        raise ValueError("a backslash right before '%' cannot be written in a cron line")
    return text.replace("%", "\\%")


def render(schedule, user, command, log, environment, header):
    """The cron.d file: header, environment lines, one job line.

    cron hands the job to /bin/sh -c, so the log path is shell-quoted; then '%' is escaped in the whole
    job, because cron reads '%' before the shell does."""
    lines = [f"# {line}" for line in header.splitlines()]
    lines += [f"{key}={environment[key]}" for key in environment]
    job = cron_escape(command)
    if log:
        job = f"{job} >> {cron_escape(shlex.quote(log))} 2>&1"
    lines.append("{} {} {}".format(" ".join(schedule.split()), user, job))
    return "\n".join(lines) + "\n"
