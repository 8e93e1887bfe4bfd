"""The version is written in one place, the collection's galaxy.yml; the program reports it (from source and
from the zipapp, which stores the same file as package data)."""

from __future__ import annotations

import re
import subprocess
import sys

import yaml

from tests.support.program import GALAXY, PROGRAM, REPO


def test_the_version_is_written_once():
    version = yaml.safe_load(GALAXY.read_text())["version"]
    lines = subprocess.run(["git", "grep", "-n", "-E", rf"(VERSION|version)\s*[:=]\s*['\"]?{re.escape(version)}\b",
                            "--", "*.py", "*.yml", "*.yaml", "*.toml", "*.cfg", ":!tests"],
                           cwd=REPO, capture_output=True, text=True, check=False).stdout.splitlines()
    assert [line.split(":", 1)[0] for line in lines] == [str(GALAXY.relative_to(REPO))], lines
    link = REPO / "src" / "dream_backup" / "galaxy_yml"
    assert link.is_symlink() and link.resolve() == GALAXY


def test_the_program_reports_the_galaxy_version():
    version = yaml.safe_load(GALAXY.read_text())["version"]
    for program in ([sys.executable, "-m", "dream_backup"],
                    [sys.executable, str(PROGRAM)]):
        result = subprocess.run([*program, "--version"], cwd=REPO / "src", capture_output=True, text=True,
                                check=False)
        assert result.stdout.strip() == f"dream-backup {version}", (program, result.stdout, result.stderr)
