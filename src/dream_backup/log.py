"""The structured log: one JSON object per line (ts, level, message, and bucket/reason/event/results
where they apply). Messages operators grep for are constants here, defined in facts.py (the status
module reads them)."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime

from dream_backup import facts, safe_open
from dream_backup.report import one_line

STARTING_MIRROR = facts.STARTING_MIRROR
COMPLETED_MIRROR = facts.COMPLETED_MIRROR
MIRROR_FAILED = facts.MIRROR_FAILED
BACKUP_FAILED = facts.BACKUP_FAILED
BACKUP_COMPLETED = facts.BACKUP_COMPLETED
MIRROR_EVENT = facts.MIRROR_EVENT
MIRROR_HELD = facts.MIRROR_HELD
CHANGES_ACCEPTED = facts.CHANGES_ACCEPTED
GUARD_STATE_NOT_SAVED = facts.GUARD_STATE_NOT_SAVED
UNSTORABLE_OBJECTS = facts.UNSTORABLE_OBJECTS
BACKUP_SKIPPED = facts.BACKUP_SKIPPED


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def json_line(text: str) -> str:
    """JSON keeps NEL, U+2028 and U+2029 raw, and readers that split on them (str.splitlines) would break
    the record in two; as \\u escapes they stay one line and the same JSON."""
    return text.replace("\x85", "\\u0085").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


class Scrubber:
    """Replaces every occurrence of a secret with ******** (defence in depth: no code path should
    ever put a secret into a message, but an engine's error text might echo one)."""

    def __init__(self, secrets: tuple[str, ...] = ()):
        kept = [s for s in secrets if len(s) >= 4]
        # A secret with a quote, backslash or control character reads differently once JSON-escaped (the
        # log file's form): that spelling is replaced too, longest first so no part of one is left.
        escaped = [json.dumps(s, ensure_ascii=False)[1:-1] for s in kept]
        self.secrets = tuple(sorted({*kept, *escaped}, key=len, reverse=True))

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "********")
        return text

    def value(self, value):
        """``value`` with every string inside it scrubbed (an engine's JSON payload before it is logged:
        the line is scrubbed again as text, but JSON escaping could hide a secret from that pass)."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {self(str(k)): self.value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        return value


class RunLog:
    """Appends JSON lines to the log file and echoes a short text line to stderr (the cron log)."""

    def __init__(self, path: str, scrub: Scrubber, echo: bool = True):
        self.path = path
        self.scrub = scrub
        self.echo = echo
        self.errors = 0  # ERROR lines written: a run that ends non-zero has at least one
        fd = safe_open.open_append(path, "log file")
        self.handle = os.fdopen(fd, "a", encoding="utf-8")

    def write(self, level: str, message: str, **fields) -> dict:
        record = {"ts": utc_now(), "level": level, "message": message}
        record.update({k: v for k, v in fields.items() if v is not None})
        # Scrubbed before and after JSON encoding: encoding escapes a secret's quotes and backslashes,
        # and a value that is not a string only becomes text inside json.dumps.
        record = self.scrub.value(record)
        line = json_line(self.scrub(json.dumps(record, ensure_ascii=False, default=str)))
        self.handle.write(line + "\n")
        self.handle.flush()
        if self.echo:
            self.echo_line(record)
        return record

    def echo_line(self, record: dict) -> None:
        extras = " ".join(f"{k}={record[k]}" for k in ("bucket", "reason") if k in record)
        print(one_line(self.scrub(f"{record['ts']} {record['level']} {record['message']} {extras}".rstrip())),
              file=sys.stderr)

    def info(self, message: str, **fields) -> dict:
        return self.write("INFO", message, **fields)

    def warning(self, message: str, **fields) -> dict:
        return self.write("WARNING", message, **fields)

    def error(self, message: str, **fields) -> dict:
        self.errors += 1
        return self.write("ERROR", message, **fields)

    def close(self) -> None:
        self.handle.close()


class StderrLog(RunLog):
    """The same interface when no log file can be written: the short text lines on stderr only."""

    def __init__(self, scrub: Scrubber):
        self.path = ""
        self.scrub = scrub
        self.echo = True
        self.errors = 0
        self.handle = None

    def write(self, level: str, message: str, **fields) -> dict:
        record = {"ts": utc_now(), "level": level, "message": message}
        record.update({k: v for k, v in fields.items() if v is not None})
        self.echo_line(record)
        return record

    def close(self) -> None:
        pass
