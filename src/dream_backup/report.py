"""Readable output for operators: aligned tables, sizes, and lines and JSON that are safe to print on a
terminal whatever an object key or a book's config.json holds."""

from __future__ import annotations

import json
import unicodedata

from dream_backup import facts

_UNPRINTABLE = {"Cc", "Cf", "Zl", "Zp"}


def one_line(text: str) -> str:
    """``text`` with control, format and line/paragraph separator characters escaped: an object key or
    a lock holder's text can neither forge a line in the cron log or a report nor send escape sequences
    to the operator's terminal."""
    return "".join(_escaped(c) if unicodedata.category(c) in _UNPRINTABLE else c for c in text)


def _escaped(char: str) -> str:
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def say(text: str) -> None:
    """Print one line for a human, escaped like the tables' cells (every line printed for an operator
    goes through here or through table())."""
    print(one_line(text))


def json_text(document, indent: int | None = 2) -> str:
    """JSON for a terminal or a pipe: readable non-ASCII text, but every control, format and separator
    character (C0, C1 such as U+009B, bidi overrides, U+2028) as a JSON \\u escape, so the document
    means the same and sends nothing to the terminal. A raw newline can only be the indent's own."""
    text = json.dumps(document, indent=indent, ensure_ascii=False)
    return "".join(f"\\u{ord(c):04x}" if c != "\n" and unicodedata.category(c) in _UNPRINTABLE else c
                   for c in text)


human_bytes = facts.human_bytes  # the status report words sizes the same


def table(headers: list[str], rows: list[list[str]]) -> str:
    rows = [[one_line(str(c)) for c in row] for row in rows]
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=False)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join(lines)
