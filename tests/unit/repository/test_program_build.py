"""The committed program is the build of its sources (what the role installs is what was reviewed)."""

from __future__ import annotations

import subprocess
import sys
import zipfile

from tests.support.program import PROGRAM, REPO

BUILD = REPO / "src" / "build.py"


def test_committed_zipapp_matches_sources():
    proc = subprocess.run([sys.executable, str(BUILD), "--check"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_zipapp_carries_the_shared_env_rules_and_runs_on_system_python():
    names = zipfile.ZipFile(PROGRAM).namelist()
    assert "__main__.py" in names and "dream_backup/envspec.py" in names
    shared = (REPO / "module_utils" / "dcs_backup_env.py").read_bytes()
    assert zipfile.ZipFile(PROGRAM).read("dream_backup/envspec.py") == shared
    out = subprocess.run(["/usr/bin/python3", str(PROGRAM), "--help"], capture_output=True, text=True, check=True)
    assert "exit codes:" in out.stdout and "75" in out.stdout
