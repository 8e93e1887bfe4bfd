"""playbooks/restore-rehearsal.yml against a local fleet: two hosts on this machine, each with its own
env file, buckets, backup and scratch bucket. One table names every host and bucket with its estimate;
a host whose rehearsal is refused fails the play by name, after the table."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.support.program import PROGRAM, REPO


def wrapper(d) -> Path:
    """The host's `dream-backup`: the program with this host's env file (what dream-backup.sh does)."""
    path = d.root / "dream-backup"
    path.write_text(f'#!/bin/sh\nexec {sys.executable} {PROGRAM} --env-file {d.env_file} "$@"\n')
    path.chmod(0o755)
    return path


def prepare(d, books: int = 3) -> str:
    bucket = d.buckets[0]
    for n in range(books):
        d.put(bucket, f"book-{n:03d}/page.txt", os.urandom(500 + n))
    assert d.run().code == 0
    d.write_env(BACKUP_REHEARSAL_BUCKET=f"rehearsal-{d.token}", BACKUP_RTO_BUDGET_HOURS="5")
    return bucket


def run_play(tmp: Path, fleet: dict) -> subprocess.CompletedProcess:
    hosts = {name: {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                    "ansible_become": False, "minio_restore_rehearsal_command": str(wrapper(d)),
                    "minio_restore_rehearsal_buckets": [d.buckets[0]],
                    "minio_backup_drill_log": str(d.root / "minio-restore-drill.log"),
                    "minio_restore_source_access_key": d.restore_env()["MINIO_RESTORE_ACCESS_KEY"],
                    "minio_restore_source_secret_key": d.restore_env()["MINIO_RESTORE_SECRET_KEY"]}
             for name, d in fleet.items()}
    inventory = tmp / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"backup_hosts": {"hosts": hosts}}}}))
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    return subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory),
                           str(REPO / "playbooks" / "restore-rehearsal.yml")],
                          capture_output=True, text=True, env=env, cwd=REPO, check=False, timeout=600)


def table_row(out: str, host: str, bucket: str) -> str:
    # The debug task prints the table as a JSON list of strings, one per row.
    rows = [line.strip().strip('",') for line in out.splitlines()
            if line.strip().startswith(f'"{host} ') and bucket in line]
    assert rows, out[-4000:]
    return rows[0]


def test_fleet_table_of_estimates_and_a_refused_host_fails_the_play_by_name(deploy, tmp_path):
    one, two = deploy(), deploy()
    fleet = {"vps-one": one, "vps-two": two}
    buckets = {name: prepare(d) for name, d in fleet.items()}

    proc = run_play(tmp_path, fleet)
    out = proc.stdout
    assert proc.returncode == 0, out[-4000:]
    assert "estimate h" in out and "budget h" in out
    for name, d in fleet.items():
        row = table_row(out, name, buckets[name])
        assert row.rstrip().endswith("pass") and " 3 " in row  # three books restored (the whole bucket)
        assert row.split()[-2] == "5"  # the host's budget, in hours
        assert not list(d.src.list_objects(f"rehearsal-{d.token}", recursive=True))

    # A foreign object in vps-two's scratch bucket: refused there, vps-one still rehearses.
    two.put(f"rehearsal-{two.token}", "someone/else.txt", b"foreign")
    proc = run_play(tmp_path, fleet)
    out = proc.stdout
    assert proc.returncode == 2, out[-4000:]
    assert table_row(out, "vps-one", buckets["vps-one"]).rstrip().endswith("pass")
    assert "refused (exit 2)" in table_row(out, "vps-two", buckets["vps-two"])
    failure = out.split("Restore rehearsal failed on vps-two")[1]
    assert buckets["vps-two"] in failure and "did not write" in failure
    assert "Restore rehearsal failed on vps-one" not in out
    assert two.read(f"rehearsal-{two.token}", "someone/else.txt") == b"foreign"
