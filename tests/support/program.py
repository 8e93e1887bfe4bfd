"""Runs the backup program (the built zipapp that the role installs) against the S3 test world.

A Deployment is one configured VPS: its own source buckets (unique names per test), a versioned target
bucket, an env file, a log file, and engine binaries wrapped so that every argv they get is recorded
(to prove no secret ever reaches a process's argument list)."""

from __future__ import annotations

import io
import json
import os
import secrets
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from minio.commonconfig import ENABLED
from minio.versioningconfig import VersioningConfig

from tests.support import mc_double
from tests.support.s3world import S3Server

REPO = Path(__file__).resolve().parents[2]
PROGRAM = REPO / "roles" / "minio_backup" / "files" / "backup_minio.py"
RCLONE = "/usr/bin/rclone"


# Runs the program inside this interpreter and reports the peak RSS of that process alone (the
# engines it starts are children and are not counted): "flat memory" is about the program's own share.
# VmHWM, not getrusage: ru_maxrss keeps the forking parent's size across fork + exec.
RSS_WRAPPER = """
import runpy, sys
sys.argv = sys.argv[1:]
code = 0
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
except SystemExit as exc:
    code = exc.code if isinstance(exc.code, int) else 1
hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM:")][0].split()[1]
sys.stderr.write("PEAK_RSS_KIB=" + hwm + "\\n")
sys.exit(code)
"""


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    log: list[dict]

    @property
    def peak_rss_kib(self) -> int:
        return int(self.stderr.rsplit("PEAK_RSS_KIB=", 1)[1].split()[0])

    def messages(self, bucket: str | None = None) -> list[str]:
        return [r["message"] for r in self.log if bucket is None or r.get("bucket") == bucket]

    def last(self, message: str) -> dict:
        return [r for r in self.log if r["message"] == message][-1]


@dataclass
class Deployment:
    primary: S3Server
    offsite: S3Server
    root: Path
    engine: str = "rclone"
    token: str = field(default_factory=lambda: secrets.token_hex(3))
    prefix: str = "vps-test"
    overrides: dict = field(default_factory=dict)

    def __post_init__(self):
        self.root.mkdir(parents=True, exist_ok=True)
        self.argv_log = self.root / "argv.log"
        self.bin = self.root / "bin"
        self.mc = mc_double.install(self.bin, REPO)
        self.rclone = self.bin / "rclone"
        self.rclone.write_text(f"#!/bin/sh\nprintf '%s\\n' \"rclone $*\" >> {self.argv_log}\nexec {RCLONE} \"$@\"\n")
        self.rclone.chmod(0o755)
        self.mc_switches({})
        self.buckets = [f"books-{self.token}", f"apps-{self.token}", f"trash-{self.token}"]
        self.target_bucket = f"offsite-{self.token}"
        self.log_path = self.root / "minio-backup.log"
        self.env_file = self.root / "backup.env"
        self.src = self.primary.client()
        self.dst = self.offsite.client()
        for bucket in self.buckets:
            self.src.make_bucket(bucket)
        self.dst.make_bucket(self.target_bucket)
        self.dst.set_bucket_versioning(self.target_bucket, VersioningConfig(ENABLED))
        self.write_env()

    def mc_switches(self, switches: dict) -> None:
        (self.bin / "mc-double.json").write_text(json.dumps(dict(switches, argv_log=str(self.argv_log))))

    def variables(self) -> dict[str, str]:
        variables = {
            "MINIO_SOURCE_ENDPOINT": self.primary.endpoint,
            "MINIO_SOURCE_ACCESS_KEY": self.primary.access_key,
            "MINIO_SOURCE_SECRET_KEY": self.primary.secret_key,
            "BACKUP_TARGET_ENDPOINT": self.offsite.endpoint,
            "BACKUP_TARGET_ACCESS_KEY": self.offsite.access_key,
            "BACKUP_TARGET_SECRET_KEY": self.offsite.secret_key,
            "BACKUP_TARGET_BUCKET": self.target_bucket,
            "MINIO_BACKUP_BUCKETS": ",".join(self.buckets),
            "MINIO_BACKUP_LOG": str(self.log_path),
            "MC_PATH": str(self.mc),
            "BACKUP_ENGINE": self.engine,
            "RCLONE_PATH": str(self.rclone),
            "BACKUP_TARGET_PREFIX": self.prefix,
            "BACKUP_LOCK_FILE": str(self.root / "dream-backup.lock"),
            "RESTORE_DRILL_LOG": str(self.root / "minio-restore-drill.log"),
        }
        variables.update(self.overrides)
        return {k: v for k, v in variables.items() if v is not None}

    def write_env(self, **overrides: str | None) -> None:
        self.overrides.update(overrides)
        lines = [f'{k}="{v}"' for k, v in self.variables().items()]
        self.env_file.write_text("\n".join(lines) + "\n")
        self.env_file.chmod(0o600)

    @property
    def secrets(self) -> tuple[str, str]:
        return self.primary.secret_key, self.offsite.secret_key

    def run(self, *args: str, env: dict | None = None, timeout: float = 300, measure_rss: bool = False) -> Run:
        before = self.log_path.stat().st_size if self.log_path.exists() else 0
        full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.root)}
        full_env.update(env or {})
        wrapper = [sys.executable, "-c", RSS_WRAPPER] if measure_rss else [sys.executable]
        proc = subprocess.run([*wrapper, str(PROGRAM), "--env-file", str(self.env_file), *args],
                              capture_output=True, text=True, timeout=timeout, env=full_env, check=False)
        log = []
        if self.log_path.exists():
            with open(self.log_path, encoding="utf-8") as handle:
                handle.seek(before)
                log = [json.loads(line) for line in handle if line.strip()]
        return Run(proc.returncode, proc.stdout, proc.stderr, log)

    # --- data helpers -----------------------------------------------------------------------------
    def put(self, bucket: str, key: str, body: bytes, content_type: str = "application/octet-stream",
            metadata: dict | None = None, side: str = "source") -> None:
        client = self.src if side == "source" else self.dst
        client.put_object(bucket, key, io.BytesIO(body), len(body), content_type=content_type,
                          metadata=metadata, part_size=5 * 1024 * 1024)

    def backup_key(self, bucket: str, key: str) -> str:
        return "/".join(p for p in (self.prefix, bucket, key) if p)

    def read(self, bucket: str, key: str, side: str = "source") -> bytes:
        client, real_bucket, real_key = ((self.src, bucket, key) if side == "source"
                                         else (self.dst, self.target_bucket, self.backup_key(bucket, key)))
        response = client.get_object(real_bucket, real_key)
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    def backup_keys(self, bucket: str) -> set[str]:
        prefix = self.backup_key(bucket, "") + "/"
        return {o.object_name[len(prefix):] for o in
                self.dst.list_objects(self.target_bucket, prefix=prefix, recursive=True)}

    def recorded_argv(self) -> str:
        return self.argv_log.read_text() if self.argv_log.exists() else ""
