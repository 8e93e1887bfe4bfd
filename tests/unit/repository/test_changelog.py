"""The changelog: one file at the repository's root in Keep a Changelog's form, whose newest version is the
one `make collection` builds, and which the collection ships as its own CHANGELOG.md."""

from __future__ import annotations

import re
import subprocess
import sys

import yaml

from tests.support.program import GALAXY, REPO

CHANGELOG = REPO / "CHANGELOG.md"
VERSION_HEADING = re.compile(r"^## \[(?P<version>\d+\.\d+\.\d+)\] - (?P<date>\d{4}-\d{2}-\d{2})$")


def level_two_headings() -> list[str]:
    return [line for line in CHANGELOG.read_text(encoding="utf-8").splitlines() if line.startswith("## ")]


def galaxy_version() -> str:
    return yaml.safe_load(GALAXY.read_text(encoding="utf-8"))["version"]


def test_the_changelog_lives_at_the_root_only():
    assert CHANGELOG.is_file()
    assert not (REPO / "collection" / "CHANGELOG.md").exists(), "one changelog: the root's"


def test_unreleased_comes_first_then_versions_newest_first_with_dates():
    headings = level_two_headings()
    assert headings[0] == "## [Unreleased]", headings
    releases = [VERSION_HEADING.match(heading) for heading in headings[1:]]
    assert all(releases), f"every other section is '## [X.Y.Z] - YYYY-MM-DD': {headings[1:]}"
    versions = [tuple(int(part) for part in m["version"].split(".")) for m in releases]
    dates = [m["date"] for m in releases]
    assert versions == sorted(versions, reverse=True) and len(set(versions)) == len(versions), versions
    assert dates == sorted(dates, reverse=True), dates


def test_the_newest_version_is_the_collections():
    newest = VERSION_HEADING.match(level_two_headings()[1])
    assert newest and newest["version"] == galaxy_version(), \
        f"{GALAXY.relative_to(REPO)} builds {galaxy_version()}: its entry must be the newest in CHANGELOG.md"


def test_the_collection_ships_the_root_changelog(tmp_path):
    subprocess.run([sys.executable, str(REPO / "collection" / "build.py"), "--stage-only", "--out", str(tmp_path)],
                   check=True, capture_output=True, text=True, timeout=120)
    shipped = tmp_path / "ansible_collections" / "dream" / "backup" / "CHANGELOG.md"
    assert shipped.read_bytes() == CHANGELOG.read_bytes()
