"""docs/architecture.md names every piece of code a newcomer will meet: each module in library/ and
module_utils/, each file of the program in src/dream_backup/, each playbook and each role. A new file
that the map does not name fails here, so the map cannot fall behind the code again."""

from __future__ import annotations

import re

import pytest

from tests.unit.conftest import REPO

DOC = REPO / "docs" / "architecture.md"
PROGRAM = REPO / "src" / "dream_backup"


def named() -> set[str]:
    """Every `backticked` span of the document, as written."""
    return set(re.findall(r"`([^`\n]+)`", DOC.read_text(encoding="utf-8")))


def mentioned(spans: set[str], *forms: str) -> bool:
    # A span names a file when it is the file's short form or a path ending in it.
    return any(span == form or span.endswith("/" + form) for span in spans for form in forms)


def pieces() -> list[tuple[str, tuple[str, ...]]]:
    found = [(f"library/{p.name}", (p.stem, p.name)) for p in (REPO / "library").glob("*.py")]
    found += [(f"module_utils/{p.name}", (p.stem, p.name)) for p in (REPO / "module_utils").glob("*.py")]
    found += [(f"filter_plugins/{p.name}", (f"filter_plugins/{p.name}",))
              for p in (REPO / "filter_plugins").glob("*.py")]
    for path in PROGRAM.rglob("*.py"):
        relative = path.relative_to(PROGRAM).as_posix()
        if "__pycache__" in relative or (path.name == "__init__.py" and path.parent != PROGRAM):
            continue
        found.append((f"src/dream_backup/{relative}", (relative,)))
    found += [(f"playbooks/{p.name}", (p.name,)) for p in (REPO / "playbooks").glob("*.yml")]
    found += [(f"roles/{p.name}", (p.name, f"{p.name}/")) for p in (REPO / "roles").iterdir() if p.is_dir()]
    return sorted(found)


def test_the_map_has_something_to_check():
    kinds = {name.split("/", 1)[0] for name, _ in pieces()}
    assert kinds == {"library", "module_utils", "filter_plugins", "src", "playbooks", "roles"}


@pytest.mark.parametrize(("name", "forms"), pieces(), ids=[name for name, _ in pieces()])
def test_every_piece_of_code_is_named_in_the_architecture_doc(name, forms):
    assert mentioned(named(), *forms), f"docs/architecture.md does not name {name} (write `{forms[0]}` in its map)"
