"""Rules for values that this repository's modules write into files a shell or cron reads as lines.

A value with a control character can end a line early (newline, carriage return, U+2028, form feed:
Python's splitlines() breaks at all of them), hide part of a line in a terminal (escape) or be cut
short by C code (NUL); none of them belongs in a path, a command or a setting.
"""

from __future__ import annotations

import posixpath

CONTROL_REASON = ("must not contain control or other non-printable characters (such as newline, carriage "
                  "return, tab, form feed, NUL or U+2028)")


def has_control_characters(value):
    """Whether ``value`` holds a character str.isprintable() refuses (this includes tab, CR and LF)."""
    return not value.isprintable()


def absolute_path_error(value, normalised=False):
    """Why ``value`` is not an absolute path without control characters (and, if asked, normalised)."""
    if has_control_characters(value):
        return CONTROL_REASON
    if not value.startswith("/"):
        return "must be an absolute path"
    # normpath keeps a leading '//' (POSIX leaves its meaning to the system), so it is refused by hand.
    if normalised and (posixpath.normpath(value) != value or value.startswith("//")):
        return "must be a normalised path (no '.', '..', '//' or trailing '/')"
    return None
