"""The demo's closing summary: per host and bucket what the off-site bucket holds, the last drill's
verdicts, and where the logs are. Reads everything through the program on each container."""

from __future__ import annotations

import json
import subprocess
import sys


def on(host: str, *argv: str) -> str:
    return subprocess.run(["podman", "exec", host, *argv], capture_output=True, text=True, check=True).stdout


def main(hosts: list[str]) -> int:
    for host in hosts:
        print(f"\n== {host}")
        for entry in json.loads(on(host, "/usr/local/bin/dream-backup", "ls", "backup", "--json")):
            print(f"  backed up  {entry['bucket']:<8} {entry['objects']:>4} objects  {entry['bytes']:>8} bytes")
        lines = on(host, "cat", "/var/log/minio-restore-drill.log").splitlines()
        if lines:
            drill = json.loads(lines[-1])
            verdicts = ", ".join(f"{b['bucket']}={b['verdict']}" for b in drill["buckets"])
            samples = sum(1 for o in drill["objects"] if o["verdict"] == "match")
            print(f"  drill      {drill['verdict']} ({verdicts}; {samples} samples matched by sha256)")
        print("  logs       /var/log/minio-backup.log (JSON lines), /var/log/minio-backup.cron.log,")
        print(f"             /var/log/minio-restore-drill.log   (podman exec -it {host} bash)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
