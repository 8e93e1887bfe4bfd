"""Idempotent re-converge of site.yml on a 4-host fleet vs a baseline play of as many
`ansible.builtin.stat` tasks on the same hosts, measured in one run. Goal: changed=0, ratio <= 1.3.

    make bench-fleet        (needs the base image: make image)
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HOSTS = [f"dcs-bench-vps{i}" for i in range(1, 5)]


def inventory(path: Path) -> None:
    hosts = {h: {"minio_backup_target_prefix": h} for h in HOSTS}
    path.write_text(json.dumps({"all": {"children": {"backup_hosts": {"hosts": hosts, "vars": {
        "ansible_connection": "containers.podman.podman",
        "ansible_python_interpreter": "/usr/bin/python3",
        "minio_backup_engine": "rclone",
        # Converging touches no S3 server: these endpoints are never contacted.
        "minio_backup_source_endpoint": "http://127.0.0.1:9",
        "minio_backup_source_access_key": "bench-source",
        "minio_backup_source_secret_key": "bench-source-secret",
        "minio_backup_target_endpoint": "http://127.0.0.1:9",
        "minio_backup_target_access_key": "bench-target",
        "minio_backup_target_secret_key": "bench-target-secret",
    }}}}}))


def playbook(path: Path, inventory_file: Path) -> tuple[float, str]:
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    started = time.monotonic()
    proc = subprocess.run([str(REPO / ".venv/bin/ansible-playbook"), "-i", str(inventory_file), str(path)],
                          env=env, capture_output=True, text=True, check=False, cwd=REPO)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit(proc.stdout[-3000:] + proc.stderr[-2000:])
    return elapsed, proc.stdout


def recap(output: str) -> dict[str, dict[str, int]]:
    return {m.group(1): {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
            for m in re.finditer(r"^(dcs-bench-vps\d)\s*:\s*(.*)$", output, re.MULTILINE)}


def main() -> int:
    image = os.environ["DCS_IMAGE"]
    for host in HOSTS:
        subprocess.run(["podman", "rm", "-f", "-t", "0", host], capture_output=True, check=False)
        subprocess.run(["podman", "run", "-d", "--name", host, "--network", "host", image, "sleep", "infinity"],
                       check=True, capture_output=True)
    try:
        with tempfile.TemporaryDirectory(prefix="dcs-fleet-") as tmp:
            inv = Path(tmp) / "inventory.json"
            inventory(inv)
            playbook(REPO / "playbooks" / "site.yml", inv)  # first converge: installs everything
            site_seconds, site_out = playbook(REPO / "playbooks" / "site.yml", inv)
            counts = recap(site_out)
            tasks = max(c["ok"] + c["changed"] for c in counts.values())  # tasks that ran (not skipped)
            baseline = Path(tmp) / "baseline.yml"
            baseline.write_text(json.dumps([{
                "name": "Baseline", "hosts": "backup_hosts", "become": True,
                "tasks": [{"name": f"stat {i}", "ansible.builtin.stat": {"path": "/etc/hostname"}}
                          for i in range(tasks)]}]))
            base_seconds, _ = playbook(baseline, inv)
    finally:
        for host in HOSTS:
            subprocess.run(["podman", "rm", "-f", "-t", "0", host], capture_output=True, check=False)
    changed = sum(c["changed"] for c in counts.values())
    ratio = site_seconds / base_seconds
    print(f"# fleet re-converge — {datetime.now(UTC):%Y-%m-%d}, {platform.node()}, {os.cpu_count()} cores, "
          f"{len(HOSTS)} podman containers")
    print(f"site.yml re-converge: {site_seconds:.1f}s, changed={changed}, {tasks} tasks per host")
    print(f"baseline ({tasks} stat tasks + facts): {base_seconds:.1f}s")
    print(f"ratio {ratio:.2f} (goal <= 1.3){'' if ratio <= 1.3 and changed == 0 else '  MISSED'}")
    return 0 if changed == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
