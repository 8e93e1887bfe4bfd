"""Every role has a README an operator can act on, and its variable table says what the role accepts.

The format the tests read (one per role, roles/<role>/README.md):

- exactly the level-2 sections `## Requirements`, `## Role Variables`, `## Dependencies`,
  `## Example Playbook` and `## License`, in this order, after the role's description (deeper headings
  are free);
- in `## Role Variables`, one markdown table with the header `| variable | default | description |`
  and one row per option of meta/argument_specs.yml (all entry points): the variable as a code span,
  the default as a code span holding YAML (`""`, `false`, `[books, apps, trash]`; a value holding
  `{{` is compared as text), or the bare word `required` for an option the spec marks required;
- the table is written by `make docs` (tests/support/role_docs.py) from meta/argument_specs.yml, its owner:
  the spec's description, and its default (else defaults/main.yml's);
- `## Dependencies` names every role of meta/main.yml's dependencies (or says None when there is
  none), and `## License` names meta/main.yml's license.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.support import role_docs
from tests.support.program import REPO

ROLES = sorted(path.name for path in (REPO / "roles").iterdir() if path.is_dir())
SPEC_ROLES = [role for role in ROLES if (REPO / "roles" / role / "meta" / "argument_specs.yml").is_file()]
SECTIONS = ("Requirements", "Role Variables", "Dependencies", "Example Playbook", "License")
HEADER = ["variable", "default", "description"]
REQUIRED = "required"
CODE_SPAN = re.compile(r"^`([^`]+)`$")
# A table cell boundary: a pipe not escaped with a backslash.
CELL_SPLIT = re.compile(r"(?<!\\)\|")
NO_DEFAULT = object()


def load_yaml(path: Path):
    return yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None


def sections(readme: str) -> dict[str, str]:
    """Level-2 headings of a markdown text and the text under each (fenced code is not a heading)."""
    found: dict[str, list[str]] = {}
    current = None
    fenced = False
    for line in readme.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        if not fenced and line.startswith("## "):
            current = line[3:].strip()
            found[current] = []
        elif current is not None:
            found[current].append(line)
    return {name: "\n".join(lines) for name, lines in found.items()}


def variable_rows(role: str, section: str) -> dict[str, str]:
    """{variable: default cell} of the Role Variables table; fails on a malformed or repeated row."""
    rows: list[str] = []
    for line in section.splitlines():
        if line.strip().startswith("|"):
            rows.append(line.strip())
        elif rows:
            break  # the first table is the variables'; later ones (under ### headings) are prose
    assert rows, f"{role}: README's Role Variables section has no table"
    cells = [[cell.strip().replace("\\|", "|") for cell in CELL_SPLIT.split(row.strip("|"))] for row in rows]
    assert cells[0] == HEADER, f"{role}: the Role Variables table's header must be | {' | '.join(HEADER)} |"
    table: dict[str, str] = {}
    for number, row in enumerate(cells[2:], 3):
        assert len(row) == len(HEADER), f"{role}: Role Variables row {number} has {len(row)} cells: {row}"
        name = CODE_SPAN.match(row[0])
        assert name, f"{role}: Role Variables row {number}: the variable must be one code span, got {row[0]!r}"
        assert name.group(1) not in table, f"{role}: README documents {name.group(1)} twice"
        assert row[2], f"{role}: README row of {name.group(1)} has no description"
        table[name.group(1)] = row[1]
    return table


def spec_options(role: str) -> dict[str, dict]:
    """Options of every entry point of the role's argument spec (an option in two entry points is one row)."""
    specs = load_yaml(REPO / "roles" / role / "meta" / "argument_specs.yml")["argument_specs"]
    options: dict[str, dict] = {}
    for entry_point in specs.values():
        options.update(entry_point.get("options") or {})
    return options


def readme_value(cell: str):
    """The value a default cell shows: YAML in a code span; templated defaults stay text."""
    span = CODE_SPAN.match(cell)
    if not span:
        raise ValueError(f"a code span or the word {REQUIRED}, got {cell!r}")
    text = span.group(1)
    if "{{" in text:
        return text
    return yaml.safe_load(text)


def same(shown, value) -> bool:
    """Equal as YAML values, where true is not 1 and false is not 0."""
    if isinstance(shown, bool) or isinstance(value, bool):
        return type(shown) is type(value) and shown == value
    return shown == value


def readme(role: str) -> str:
    path = REPO / "roles" / role / "README.md"
    assert path.is_file(), f"{role}: roles/{role}/README.md is missing"
    return path.read_text(encoding="utf-8")


def test_every_role_is_checked():
    assert len(ROLES) >= 8, ROLES


@pytest.mark.parametrize("role", ROLES)
def test_readme_has_every_section(role):
    found = sections(readme(role))
    missing = [name for name in SECTIONS if name not in found]
    assert not missing, f"{role}: README lacks the sections {missing}"
    assert list(found) == list(SECTIONS), (
        f"{role}: README's level-2 sections must be {list(SECTIONS)} in this order (use ### inside them), "
        f"got {list(found)}")
    empty = [name for name in SECTIONS if not found[name].strip()]
    assert not empty, f"{role}: README sections with nothing in them: {empty}"


@pytest.mark.parametrize("role", ROLES)
def test_readme_names_dependencies_and_license(role):
    meta = load_yaml(REPO / "roles" / role / "meta" / "main.yml") or {}
    found = {name: "" for name in SECTIONS} | sections(readme(role))
    dependencies = [dep["role"] if isinstance(dep, dict) else dep for dep in meta.get("dependencies") or []]
    for dependency in dependencies:
        assert f"`{dependency}`" in found["Dependencies"], (
            f"{role}: README's Dependencies section does not name `{dependency}` (meta/main.yml)")
    if not dependencies:
        assert "None" in found["Dependencies"], f"{role}: README's Dependencies section should say None"
    license_name = meta.get("galaxy_info", {}).get("license", "MIT")
    assert license_name in found["License"], f"{role}: README's License section does not name {license_name}"


@pytest.mark.parametrize("role", SPEC_ROLES)
def test_readme_variables_match_argument_specs(role):
    options = spec_options(role)
    table = variable_rows(role, sections(readme(role)).get("Role Variables", ""))
    undocumented = sorted(set(options) - set(table))
    unknown = sorted(set(table) - set(options))
    assert not undocumented, f"{role}: in meta/argument_specs.yml but not in README's Role Variables: {undocumented}"
    assert not unknown, f"{role}: in README's Role Variables but not in meta/argument_specs.yml: {unknown}"


@pytest.mark.parametrize("role", SPEC_ROLES)
def test_readme_defaults_match_the_role(role):
    """A README default equals the spec's default and defaults/main.yml's value (where each has one)."""
    options = spec_options(role)
    defaults = load_yaml(REPO / "roles" / role / "defaults" / "main.yml") or {}
    table = variable_rows(role, sections(readme(role)).get("Role Variables", ""))
    wrong = []
    for name, cell in sorted(table.items()):
        option = options.get(name)
        if option is None:
            continue  # reported by test_readme_variables_match_argument_specs
        if option.get("required"):
            if cell != REQUIRED:
                wrong.append(f"{name}: the spec marks it required; the README's default must say {REQUIRED}, "
                             f"not {cell}")
            continue
        if cell == REQUIRED:
            wrong.append(f"{name}: README says {REQUIRED}, the spec does not")
            continue
        try:
            shown = readme_value(cell)
        except (ValueError, yaml.YAMLError) as error:
            wrong.append(f"{name}: README default is not readable: {error}")
            continue
        sources = {"meta/argument_specs.yml": option.get("default", NO_DEFAULT),
                   "defaults/main.yml": defaults.get(name, NO_DEFAULT)}
        if all(value is NO_DEFAULT for value in sources.values()):
            sources["no default anywhere (null)"] = None
        for source, value in sources.items():
            if value is not NO_DEFAULT and not same(shown, value):
                wrong.append(f"{name}: README shows {shown!r}, {source} has {value!r}")
    assert not wrong, f"{role}: README defaults differ from the role:\n" + "\n".join(wrong)


@pytest.mark.parametrize("role", SPEC_ROLES)
def test_readme_table_is_the_one_make_docs_writes(role):
    """The table is generated from the spec; an edit by hand, or a spec changed without `make docs`, fails."""
    text = readme(role)
    expected = role_docs.rewritten(text, role_docs.table(REPO / "roles" / role))
    assert text == expected, f"{role}: README's variable table differs from meta/argument_specs.yml: run make docs"
