"""playbooks/status.yml against a local fleet: hosts that share this machine (each with its own env file,
metrics, logs and lock) and one that cannot be reached. The table names every host's state, the JSON
report holds every bucket, and the play fails naming host and bucket of each problem."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

from tests.support.program import REPO
from tests.unit.modules.test_backup_status_info import Host


def inventory(tmp: Path, hosts: dict[str, Host]) -> Path:
    entries = {name: {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                      "ansible_become": False, "minio_backup_status_env_file": str(h.env)}
               for name, h in hosts.items()}
    # Nothing listens on port 9 of this machine: the connection is refused, the host is unreachable.
    entries["vps-gone"] = {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": 9,
                           "ansible_user": "nobody"}
    path = tmp / "hosts.yml"
    path.write_text(yaml.safe_dump({"all": {"children": {"backup_hosts": {"hosts": entries}}}}))
    return path


def run_status(hosts_file: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    return subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(hosts_file),
                           str(REPO / "playbooks" / "status.yml"), *args],
                          capture_output=True, text=True, env=env, cwd=REPO, check=False)


def make_fleet(tmp_path: Path) -> dict[str, Host]:
    now = time.time()
    fresh = Host(tmp_path / "fresh")
    fresh.write_env()
    fresh.write_metrics({"books": now - 3600, "apps": now - 1800})
    fresh.drill(now - 86400, {"books": "pass", "apps": "pass"}, books={"restorable_since": "2026-06-01T00:00:00Z"})
    bare = Host(tmp_path / "bare")
    bare.write_env()
    bare.log_lines({"ts": "2026-01-01T00:00:00.000Z", "level": "INFO", "message": "Completed mirror",
                    "bucket": "books"})
    return {"vps-fresh": fresh, "vps-bare": bare}


def test_table_report_and_failure_name_every_host_state_and_problem(tmp_path):
    fleet = make_fleet(tmp_path)
    report_path = tmp_path / "status.json"
    proc = run_status(inventory(tmp_path, fleet), "-e", f"minio_backup_status_report={report_path}")
    out = proc.stdout
    assert proc.returncode == 2, out[-3000:]
    assert "Traceback" not in out + proc.stderr
    table = [line for line in out.splitlines() if "vps-" in line and ("books" in line or "  -  " in line)]
    assert any("vps-gone" in line and "unreachable" in line for line in table), out[-3000:]
    assert any("vps-bare" in line and "no metrics" in line and "books" in line for line in table), out[-3000:]
    assert any("vps-fresh" in line and " ok " in line and "2026-06-01T00:00:00Z" in line for line in table)
    assert "vps-bare books - last success" in out and "vps-bare apps - no successful backup recorded" in out
    assert "vps-gone - unreachable" in out
    assert "vps-fresh" not in out.split("Backup status problems")[1]

    report = json.loads(report_path.read_text())
    hosts = {h["host"]: h for h in report["hosts"]}
    assert (hosts["vps-fresh"]["state"], hosts["vps-bare"]["state"], hosts["vps-gone"]["state"]) == (
        "ok", "no metrics", "unreachable")
    books = next(b for b in hosts["vps-fresh"]["status"]["buckets"] if b["bucket"] == "books")
    assert books["objects"] == 12 and books["drill_verdict"] == "pass" and books["last_success_age_hours"] < 1.1
    assert report["max_age_hours"] == 26.0


def test_healthy_fleet_passes_and_a_zero_max_age_fails_naming_host_and_bucket(tmp_path):
    fleet = make_fleet(tmp_path)
    del fleet["vps-bare"]
    hosts_file = inventory(tmp_path, fleet)
    healthy = run_status(hosts_file, "--limit", "vps-fresh")
    assert healthy.returncode == 0, healthy.stdout[-3000:]
    assert "Backup status problems" not in healthy.stdout
    strict = run_status(hosts_file, "--limit", "vps-fresh", "-e", "minio_backup_status_max_age_hours=0")
    assert strict.returncode == 2
    assert "vps-fresh books - last success" in strict.stdout and "vps-fresh apps - last success" in strict.stdout


def test_running_host_is_shown_running_and_check_mode_is_the_same(tmp_path):
    fleet = make_fleet(tmp_path)
    fresh = fleet["vps-fresh"]
    with fresh.lock_held():
        proc = run_status(inventory(tmp_path, fleet), "--limit", "vps-fresh", "--check")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert any("vps-fresh" in line and "running" in line for line in proc.stdout.splitlines())
