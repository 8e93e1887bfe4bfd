"""The four modules through ansible-playbook against localhost, with temporary paths:
--check --diff changes nothing, a real run installs, a second run changes nothing."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.support.program import PROGRAM, REPO

SECRET = "playbook-SECRET-value-0147"
FAKE_MC = b"#!/bin/sh\necho 'mc version RELEASE.2025-08-13T08-35-41Z (commit-id=test-double)'\n"


def write_playbook(tmp: Path) -> Path:
    (tmp / "stage").mkdir()
    (tmp / "cron.d").mkdir()  # as /etc/cron.d on a host with cron
    (tmp / "stage" / "mc").write_bytes(FAKE_MC)
    variables = {
        "MINIO_SOURCE_ENDPOINT": "https://minio.internal.example.com",
        "MINIO_SOURCE_ACCESS_KEY": "source-access-key", "MINIO_SOURCE_SECRET_KEY": SECRET,
        "BACKUP_TARGET_ENDPOINT": "https://s3.backup.example.com",
        "BACKUP_TARGET_ACCESS_KEY": "backup-access-key", "BACKUP_TARGET_SECRET_KEY": SECRET + "-target",
        "BACKUP_TARGET_BUCKET": "dream-central-storage-backups", "MINIO_BACKUP_BUCKETS": ["books", "apps", "trash"],
        "MINIO_BACKUP_LOG": "/var/log/minio-backup.log", "MC_PATH": str(tmp / "bin" / "mc"),
    }
    play = [{
        "name": "Modules on localhost", "hosts": "localhost", "connection": "local", "gather_facts": False,
        "vars": {"ansible_python_interpreter": sys.executable},
        "tasks": [
            {"name": "bin directory", "ansible.builtin.file": {"path": str(tmp / "bin"), "state": "directory",
                                                               "mode": "0755"}},
            {"name": "mc", "dream.backup.minio_client": {
                "src": str(tmp / "stage" / "mc"), "dest": str(tmp / "bin" / "mc"),
                "checksum": hashlib.sha256(FAKE_MC).hexdigest()}},
            {"name": "program", "dream.backup.backup_script": {
                "program_b64": "{{ lookup('ansible.builtin.file', '" + str(tmp / "program.b64") + "') }}",
                "bin_dir": str(tmp / "bin"), "python": "/usr/bin/python3"}},
            {"name": "env", "dream.backup.backup_env": {
                "path": str(tmp / "etc" / "backup.env"), "variables": variables}},
            {"name": "cron", "dream.backup.backup_cron": {
                "name": "dream-storage-backup", "schedule": "17 2 * * *",
                "command": str(tmp / "bin" / "dream-backup.sh"), "cron_dir": str(tmp / "cron.d")}},
        ],
    }]
    (tmp / "program.b64").write_text(base64.b64encode(PROGRAM.read_bytes()).decode())
    path = tmp / "play.yml"
    path.write_text(json.dumps(play))
    return path


def run(playbook: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0")
    return subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", str(playbook),
                           *args], capture_output=True, text=True, env=env, cwd=REPO, check=False)


def changed(output: str) -> int:
    return int(re.search(r"localhost\s*:.*changed=(\d+)", output).group(1))


def test_check_diff_then_real_then_idempotent(tmp_path):
    playbook = write_playbook(tmp_path)
    check = run(playbook, "--check", "--diff")
    assert check.returncode == 0, check.stdout[-3000:]
    assert changed(check.stdout) == 5
    assert not (tmp_path / "etc").exists() and list((tmp_path / "cron.d").iterdir()) == []
    assert 'MINIO_SOURCE_SECRET_KEY="********"' in check.stdout
    assert "17 2 * * * root" in check.stdout
    assert SECRET not in check.stdout + check.stderr

    real = run(playbook, "--diff")
    assert real.returncode == 0, real.stdout[-3000:]
    assert (tmp_path / "bin" / "mc").read_bytes() == FAKE_MC
    assert (tmp_path / "cron.d" / "dream-storage-backup").read_text().endswith(
        f"17 2 * * * root {tmp_path}/bin/dream-backup.sh >> /var/log/minio-backup.cron.log 2>&1\n")
    assert f'MINIO_SOURCE_SECRET_KEY="{SECRET}"' in (tmp_path / "etc" / "backup.env").read_text()
    assert SECRET not in real.stdout + real.stderr

    again = run(playbook, "--diff")
    assert again.returncode == 0 and changed(again.stdout) == 0
