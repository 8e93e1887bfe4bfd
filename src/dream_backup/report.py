"""Readable output for operators: aligned tables and sizes."""

from __future__ import annotations

import unicodedata

_UNPRINTABLE = {"Cc", "Cf", "Zl", "Zp"}


def one_line(text: str) -> str:
    """``text`` with control, format and line/paragraph separator characters escaped: an object key or
    a lock holder's text can neither forge a line in the cron log or a report nor send escape sequences
    to the operator's terminal."""
    return "".join(_escaped(c) if unicodedata.category(c) in _UNPRINTABLE else c for c in text)


def _escaped(char: str) -> str:
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def human_bytes(count: int) -> str:
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{count} B"


def table(headers: list[str], rows: list[list[str]]) -> str:
    rows = [[one_line(str(c)) for c in row] for row in rows]
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=False)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join(lines)
