"""Writes each role's variable table (README.md, section `## Role Variables`) from the role's
meta/argument_specs.yml, its one owner: a row per option of every entry point, the default from the spec
(else defaults/main.yml), the description from the spec. Only the table is rewritten; the prose around it
is the README's own.

    python3 tests/support/role_docs.py [--check]    (make docs)

--check writes nothing and exits 1 naming each README whose table differs (tests/unit/repository/test_role_readmes.py).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
HEADER = ["| variable | default | description |", "|---|---|---|"]
# Ansible's documentation markup, as markdown.
MARKUP = ((re.compile(r"[CMVO]\(([^()]*)\)"), r"`\1`"), (re.compile(r"I\(([^()]*)\)"), r"*\1*"),
          (re.compile(r"B\(([^()]*)\)"), r"**\1**"))
NO_DEFAULT = object()


def options(role_dir: Path) -> dict[str, dict]:
    specs = yaml.safe_load((role_dir / "meta" / "argument_specs.yml").read_text(encoding="utf-8"))["argument_specs"]
    found: dict[str, dict] = {}
    for entry_point in specs.values():
        found.update(entry_point.get("options") or {})
    return found


def default_cell(value) -> str:
    if isinstance(value, str):
        if value == "":
            return '""'
        plain = "{{" in value or (yaml.safe_load(value) == value and not value.startswith(("`", " ")))
        return value if plain else json.dumps(value)
    return yaml.safe_dump(value, default_flow_style=True, width=10**6).removesuffix("\n...\n").strip()


def description(option: dict) -> str:
    text = option.get("description") or ""
    text = " ".join((" ".join(text) if isinstance(text, list) else text).split())
    for pattern, replacement in MARKUP:
        text = pattern.sub(replacement, text)
    return text.replace("|", "\\|")


def table(role_dir: Path) -> list[str]:
    defaults_file = role_dir / "defaults" / "main.yml"
    defaults = (yaml.safe_load(defaults_file.read_text(encoding="utf-8")) if defaults_file.is_file() else None) or {}
    rows = []
    for name, option in options(role_dir).items():
        if option.get("required"):
            cell = "required"
        else:
            value = option.get("default", defaults.get(name))
            # A Jinja filter's | would end the cell: Markdown tables read \| as a literal one.
            cell = "`" + default_cell(value).replace("|", "\\|") + "`"
        rows.append(f"| `{name}` | {cell} | {description(option)} |")
    return HEADER + rows


def rewritten(readme: str, rows: list[str]) -> str:
    """``readme`` with the first table under `## Role Variables` replaced by ``rows``."""
    lines = readme.split("\n")
    start = lines.index("## Role Variables")
    first = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("|") or lines[i].startswith("## "))
    if lines[first].startswith("## "):
        raise ValueError("no table under ## Role Variables")
    last = first
    while last < len(lines) and lines[last].startswith("|"):
        last += 1
    return "\n".join(lines[:first] + rows + lines[last:])


def roles() -> list[Path]:
    return sorted(p.parent.parent for p in (REPO / "roles").glob("*/meta/argument_specs.yml"))


def main(argv: list[str]) -> int:
    stale = []
    for role_dir in roles():
        path = role_dir / "README.md"
        text = path.read_text(encoding="utf-8")
        new = rewritten(text, table(role_dir))
        if new != text:
            stale.append(path.relative_to(REPO).as_posix())
            if "--check" not in argv:
                path.write_text(new, encoding="utf-8")
    if stale and "--check" in argv:
        print("role variable tables differ from meta/argument_specs.yml (run 'make docs'): " + ", ".join(stale),
              file=sys.stderr)
        return 1
    for name in stale:
        print(f"rewrote the variable table of {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
