"""backup_script: program, wrapper and link; python version gate; compile check; idempotence."""

from __future__ import annotations

import base64
import io
import os
import stat
import subprocess
import sys
import zipfile

import pytest

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


# --- paths an attacker (or a typo) could put into the wrapper ------------------------------------------

HOSTILE = "dir with space $(touch pwned) `touch pwned`; touch pwned & it's \"q\" 100%"


def argv_printer(directory):
    """An interpreter stand-in: prints its argv, one per line; `-c` (the module's version and compile
    probes) goes to the real interpreter so the module accepts it."""
    directory.mkdir(parents=True)
    path = directory / "python3"
    path.write_text(f'#!/bin/sh\nif [ "$1" = -c ]; then exec {sys.executable} "$@"; fi\n'
                    "for arg in \"$@\"; do printf '%s\\n' \"$arg\"; done\n")
    path.chmod(0o755)
    return path


def test_hostile_paths_reach_the_program_literally_and_run_nothing(run_module, tmp_path):
    bin_dir = tmp_path / HOSTILE / "bin"
    bin_dir.mkdir(parents=True)
    python = argv_printer(tmp_path / HOSTILE / "interpreter")
    env_file = f"/etc/{HOSTILE}/backup.env"
    result = run_module("backup_script", args(bin_dir, python=str(python), env_file=env_file))
    assert result["changed"] is True
    work = tmp_path / "work"
    work.mkdir()
    runbook_args = ["--log-path", "/tmp/a log $(touch pwned).log", "backup"]
    expected = [str(bin_dir / "backup_minio.py"), "--env-file", env_file, *runbook_args]
    for shell in (["bash"], ["/bin/sh"], []):  # bash as asked, sh explicitly, and the shebang
        proc = subprocess.run([*shell, str(bin_dir / "dream-backup"), *runbook_args], capture_output=True,
                              text=True, cwd=work, env={"PATH": "/usr/bin:/bin"}, check=False)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.splitlines() == expected
    other = f"/run/{HOSTILE}/other.env"
    proc = subprocess.run(["bash", str(bin_dir / "dream-backup.sh")], capture_output=True, text=True, cwd=work,
                          env={"PATH": "/usr/bin:/bin", "DREAM_BACKUP_ENV_FILE": other}, check=False)
    assert proc.stdout.splitlines() == [str(bin_dir / "backup_minio.py"), "--env-file", other]
    assert list(work.iterdir()) == [], "a path in the wrapper ran a command"
    assert not list(tmp_path.rglob("pwned"))


def test_empty_env_file_override_keeps_the_installed_one(run_module, tmp_path):
    python = argv_printer(tmp_path / "interpreter")
    run_module("backup_script", args(tmp_path, python=str(python)))
    proc = subprocess.run([str(tmp_path / "dream-backup")], capture_output=True, text=True, check=True,
                          env={"PATH": "/usr/bin:/bin", "DREAM_BACKUP_ENV_FILE": ""})
    assert proc.stdout.splitlines()[1:] == ["--env-file", "/etc/dream-central-storage/backup.env"]


CONTROL_CHARACTERS = {"carriage return": "\r", "newline": "\n", "tab": "\t", "form feed": "\f",
                      "line separator U+2028": "\u2028", "NUL": "\0", "escape": "\x1b"}


@pytest.mark.parametrize("char", CONTROL_CHARACTERS.values(), ids=CONTROL_CHARACTERS.keys())
@pytest.mark.parametrize("field", ["env_file", "bin_dir", "python"])
def test_control_characters_in_paths_are_refused(run_module, tmp_path, field, char):
    # The directory and the interpreter really exist (a file name may hold any byte but NUL and '/'),
    # so only the rule can stop them.
    bin_dir, python = tmp_path / "bin", tmp_path / "interpreter" / "python3"
    if char != "\0":
        if field == "bin_dir":
            bin_dir = tmp_path / f"bin{char}touch pwned"
        if field == "python":
            python = tmp_path / "interpreter" / f"python3{char}touch pwned"
    bin_dir.mkdir()
    python.parent.mkdir()
    python.symlink_to(sys.executable)
    overrides = {"bin_dir": str(bin_dir), "python": str(python)}
    if field == "env_file":
        overrides["env_file"] = f"/etc/dcs/backup{char}touch pwned.env"
    elif char == "\0":
        overrides[field] += "\0"
    result = run_module("backup_script", args(tmp_path, **overrides))
    assert result["failed"] is True and field in result["msg"]
    assert list(bin_dir.iterdir()) == []


@pytest.mark.parametrize("field", ["env_file", "bin_dir", "python"])
def test_relative_paths_are_refused(run_module, tmp_path, field):
    result = run_module("backup_script", args(tmp_path, **{field: "relative/path"}))
    assert result["failed"] is True and field in result["msg"] and "absolute" in result["msg"]
    assert list(tmp_path.iterdir()) == []
