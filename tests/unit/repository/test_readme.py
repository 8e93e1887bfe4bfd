"""The README stays something a newcomer reads in one sitting: at most 150 lines, none longer than 110
characters, the two set-up commands first, and a link to every page under docs/ (details live there)."""

from __future__ import annotations

import re

from tests.unit.conftest import REPO

README = REPO / "README.md"
MAX_LINES = 150
MAX_WIDTH = 110


def lines() -> list[str]:
    return README.read_text(encoding="utf-8").splitlines()


def test_readme_is_at_most_150_lines():
    assert len(lines()) <= MAX_LINES, (
        f"README.md has {len(lines())} lines (at most {MAX_LINES}): move details into a page under docs/")


def test_no_readme_line_is_longer_than_110_characters():
    long = [f"{number}: {len(line)} characters" for number, line in enumerate(lines(), 1) if len(line) > MAX_WIDTH]
    assert not long, f"README.md lines longer than {MAX_WIDTH} characters:\n" + "\n".join(long)


def test_the_two_set_up_commands_come_first():
    block = "\n".join(lines()[:6])
    assert re.search(r"^```sh\nmake demo\s", block, re.MULTILINE), block
    assert re.search(r"^make test\s", block, re.MULTILINE), block


def test_every_page_under_docs_is_linked():
    text = README.read_text(encoding="utf-8")
    linked = set(re.findall(r"\]\(docs/([A-Za-z0-9_.-]+\.md)\)", text))
    pages = {page.name for page in (REPO / "docs").glob("*.md")}
    assert pages - linked == set(), f"README.md links no line to: {sorted(pages - linked)}"
