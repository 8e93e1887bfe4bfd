"""backup_script: program, wrapper and link; python version gate; compile check; idempotence."""

from __future__ import annotations

import base64
import io
import os
import stat
import subprocess
import sys
import zipfile

from tests.support.program import PROGRAM as ZIPAPP
from tests.unit.conftest import tree_snapshot

PROGRAM = "#!/usr/bin/env python3\nimport sys\nprint('args', sys.argv[1:])\n"


def args(tmp_path, program=PROGRAM, **extra):
    return dict({"program": program, "bin_dir": str(tmp_path), "python": sys.executable,
                 "env_file": "/etc/dream-central-storage/backup.env"}, **extra)


def test_installs_program_wrapper_and_link(run_module, tmp_path):
    result = run_module("backup_script", args(tmp_path))
    assert result["changed"] is True
    for name in ("backup_minio.py", "dream-backup.sh"):
        st = (tmp_path / name).stat()
        assert stat.S_IMODE(st.st_mode) == 0o755 and (st.st_uid, st.st_gid) == (0, 0)
    assert os.readlink(tmp_path / "dream-backup") == "dream-backup.sh"
    out = subprocess.run([str(tmp_path / "dream-backup"), "drill", "--json"], capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "args ['--env-file', '/etc/dream-central-storage/backup.env', 'drill', '--json']"
    out = subprocess.run([str(tmp_path / "dream-backup.sh")], capture_output=True, text=True, check=True,
                         env={"DREAM_BACKUP_ENV_FILE": "/tmp/other.env", "PATH": "/usr/bin:/bin"}).stdout
    assert "/tmp/other.env" in out


def test_second_run_unchanged_and_new_content_replaces(run_module, tmp_path):
    run_module("backup_script", args(tmp_path))
    assert run_module("backup_script", args(tmp_path))["changed"] is False
    result = run_module("backup_script", args(tmp_path, program=PROGRAM + "# v2\n"))
    assert result["changed"] is True
    assert (tmp_path / "backup_minio.py").read_text().endswith("# v2\n")


def test_program_that_does_not_compile_is_not_installed(run_module, tmp_path):
    run_module("backup_script", args(tmp_path))
    before = tree_snapshot(tmp_path)
    result = run_module("backup_script", args(tmp_path, program="def broken(:\n"))
    assert result["failed"] is True and "does not compile" in result["msg"]
    assert tree_snapshot(tmp_path) == before


def test_old_python_is_refused(run_module, tmp_path):
    old = tmp_path / "python3"
    old.write_text("#!/bin/sh\necho 3.9.2\n")
    old.chmod(0o755)
    result = run_module("backup_script", args(tmp_path, python=str(old)))
    assert result["failed"] is True and "3.11" in result["msg"] and "3.9.2" in result["msg"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["python3"]


def test_check_mode_changes_nothing(run_module, tmp_path):
    before = tree_snapshot(tmp_path)
    result = run_module("backup_script", args(tmp_path), check=True, diff=True)
    assert result["changed"] is True
    assert tree_snapshot(tmp_path) == before
    assert any("dream-backup.sh" in d["after_header"] for d in result["diff"])


def test_zipapp_program_travels_base64_and_runs(run_module, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    encoded = base64.b64encode(ZIPAPP.read_bytes()).decode()
    result = run_module("backup_script", {"program_b64": encoded, "bin_dir": str(bin_dir),
                                          "python": "/usr/bin/python3"}, diff=True)
    assert result["changed"] is True
    assert (bin_dir / "backup_minio.py").read_bytes() == ZIPAPP.read_bytes()
    assert "sha256:" in result["diff"][0]["after"]
    out = subprocess.run([str(bin_dir / "dream-backup"), "--help"], capture_output=True, text=True, check=False)
    assert "exit codes:" in out.stdout
    again = run_module("backup_script", {"program_b64": encoded, "bin_dir": str(bin_dir),
                                         "python": "/usr/bin/python3"})
    assert again["changed"] is False


def test_broken_zipapp_is_not_installed(run_module, tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("__main__.py", "def broken(:\n")
    result = run_module("backup_script", {"program_b64": base64.b64encode(buffer.getvalue()).decode(),
                                          "bin_dir": str(tmp_path), "python": sys.executable})
    assert result["failed"] is True and "does not compile" in result["msg"]
    assert list(tmp_path.iterdir()) == []
