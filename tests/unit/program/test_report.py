"""Output for operators (report.py): whatever a key or a book's config.json holds, a printed line stays one
line and sends nothing to the terminal; JSON output means the same document."""

from __future__ import annotations

import json

import pytest

from dream_backup import report

HOSTILE = "a\nb\r\x1b[31m\x9b2J\u202eevil\u2028\u2029\u200bz\x7f"


def test_one_line_escapes_controls_formats_and_separators():
    assert report.one_line(HOSTILE) == "a\\x0ab\\x0d\\x1b[31m\\x9b2J\\u202eevil\\u2028\\u2029\\u200bz\\x7f"
    assert report.one_line("ünïcode ключ 書 ok") == "ünïcode ключ 書 ok"


def test_say_prints_one_escaped_line(capsys):
    report.say(HOSTILE)
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "\x1b" not in out and "\u202e" not in out


@pytest.mark.parametrize("indent", [2, None])
def test_json_text_is_the_same_document_with_nothing_for_the_terminal(indent):
    document = {"key": HOSTILE, "n": [1, "ключ"]}
    text = report.json_text(document, indent=indent)
    assert json.loads(text) == document
    assert "ключ" in text  # readable, not \\u-escaped
    assert not any(c in text for c in "\r\x1b\x9b\u202e\u2028\u2029\u200b\x7f")
    if indent is None:
        assert "\n" not in text


@pytest.mark.parametrize(("count", "text"), [(0, "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"),
                                             (1536, "1.5 KiB"), (5 * 1024**3, "5.0 GiB"),
                                             (3 * 1024**5, "3072.0 TiB")])
def test_human_bytes(count, text):
    assert report.human_bytes(count) == text


def test_table_aligns_columns_and_escapes_cells():
    text = report.table(["BUCKET", "OBJECTS"], [["books", "12"], ["a\nb", "3"]])
    assert text.splitlines() == ["BUCKET  OBJECTS",
                                 "------  -------",
                                 "books   12",
                                 "a\\x0ab  3"]
