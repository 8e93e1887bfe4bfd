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
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from minio.commonconfig import ENABLED
from minio.versioningconfig import VersioningConfig

from tests.support import mc_double
from tests.support.s3world import S3Server, read_object

REPO = Path(__file__).resolve().parents[2]
PROGRAM = REPO / "roles" / "minio_backup" / "files" / "backup_minio.pyz"
# The collection dream.backup as Ansible finds it in the repository (ansible.cfg's collections path).
COLLECTION = REPO / "collection" / "ansible_collections" / "dream" / "backup"
GALAXY = COLLECTION / "galaxy.yml"
RCLONE = "/usr/bin/rclone"
FILE_LIST = "rclone-file-list"  # marks the lines of the argv log that name what a --files-from-raw list held
# Bounds a wait for an event that a working run always produces: only a broken run reaches it.
EVENT_TIMEOUT = 600.0


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
    program: Path = PROGRAM  # another build of the program, for a benchmark that compares two
    # The env file holds the VPS's scoped keys (read-only source, target-only target; docs/security.md)
    # instead of the harness's own key, which may do anything.
    least_privilege: bool = False
    # Restores and rehearsals get the restore key in their environment, as the playbooks hand it over
    # from the controller (the scoped restore key, or the harness's own without least_privilege).
    restore_key: bool = True

    def __post_init__(self):
        self.root.mkdir(parents=True, exist_ok=True)
        self.argv_log = self.root / "argv.log"
        self.bin = self.root / "bin"
        self.mc = mc_double.install(self.bin, REPO)
        self.rclone = self.bin / "rclone"
        # The argv, then each name of a --files-from-raw list as a line of its own, `rclone-file-list
        # <last argument> <name>` (what rclone reads without it being on its argv). One printf per line:
        # the lines of engines running at once never mix.
        self.rclone.write_text(
            f"#!/bin/sh\nprintf '%s\\n' \"rclone $*\" >> {self.argv_log}\nfor last in \"$@\"; do :; done\nprev=\n"
            f"for a in \"$@\"; do\n  if [ \"$prev\" = --files-from-raw ]; then\n"
            f"    while IFS= read -r n; do printf '%s %s %s\\n' {FILE_LIST} \"$last\" \"$n\" >> {self.argv_log}; "
            f"done < \"$a\"\n  fi\n  prev=$a\ndone\nexec {RCLONE} \"$@\"\n")
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
        source, target = ((self.primary.source_access_key, self.primary.source_secret_key),
                          (self.offsite.target_access_key, self.offsite.target_secret_key)) \
            if self.least_privilege else ((self.primary.access_key, self.primary.secret_key),
                                          (self.offsite.access_key, self.offsite.secret_key))
        variables = {
            "MINIO_SOURCE_ENDPOINT": self.primary.endpoint,
            "MINIO_SOURCE_ACCESS_KEY": source[0],
            "MINIO_SOURCE_SECRET_KEY": source[1],
            "BACKUP_TARGET_ENDPOINT": self.offsite.endpoint,
            "BACKUP_TARGET_ACCESS_KEY": target[0],
            "BACKUP_TARGET_SECRET_KEY": target[1],
            "BACKUP_TARGET_BUCKET": self.target_bucket,
            "MINIO_BACKUP_BUCKETS": ",".join(self.buckets),
            "MINIO_BACKUP_LOG": str(self.log_path),
            "MC_PATH": str(self.mc),
            "BACKUP_ENGINE": self.engine,
            "RCLONE_PATH": str(self.rclone),
            "BACKUP_TARGET_PREFIX": self.prefix,
            "BACKUP_LOCK_FILE": str(self.root / "dream-backup.lock"),
            "RESTORE_DRILL_LOG": str(self.root / "minio-restore-drill.log"),
            "BACKUP_STATE_DIR": str(self.root / "state"),
        }
        variables.update(self.overrides)
        return {k: v for k, v in variables.items() if v is not None}

    def write_env(self, **overrides: str | None) -> None:
        self.overrides.update(overrides)
        lines = [f'{k}="{v}"' for k, v in self.variables().items()]
        self.env_file.write_text("\n".join(lines) + "\n")
        self.env_file.chmod(0o600)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret this VPS's env file holds."""
        variables = self.variables()
        return variables["MINIO_SOURCE_SECRET_KEY"], variables["BACKUP_TARGET_SECRET_KEY"]

    def _log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def log_since(self, offset: int) -> list[dict]:
        """The log records written after byte ``offset`` (complete lines only: a run may be mid-write)."""
        if not self.log_path.exists():
            return []
        with open(self.log_path, "rb") as handle:
            handle.seek(offset)
            data = handle.read()
        return [json.loads(line) for line in data.split(b"\n")[:-1] if line.strip()]

    def restore_env(self) -> dict[str, str]:
        key = (self.primary.restore_access_key, self.primary.restore_secret_key) if self.least_privilege \
            else (self.primary.access_key, self.primary.secret_key)
        return {"MINIO_RESTORE_ACCESS_KEY": key[0], "MINIO_RESTORE_SECRET_KEY": key[1]}

    def _env(self, env: dict | None, args: tuple[str, ...] = ()) -> dict[str, str]:
        full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.root)}
        if self.restore_key and {"restore", "rehearse"} & set(args):
            full_env.update(self.restore_env())
        full_env.update(env or {})
        return full_env

    def run(self, *args: str, env: dict | None = None, timeout: float = 300, measure_rss: bool = False) -> Run:
        before = self._log_size()
        wrapper = [sys.executable, "-c", RSS_WRAPPER] if measure_rss else [sys.executable]
        proc = subprocess.run([*wrapper, str(self.program), "--env-file", str(self.env_file), *args],
                              capture_output=True, text=True, timeout=timeout, env=self._env(env, args), check=False)
        return Run(proc.returncode, proc.stdout, proc.stderr, self.log_since(before))

    def start(self, *args: str, env: dict | None = None) -> RunningProgram:
        """The program in the background, for tests that act while it runs (only this run's log counts)."""
        before = self._log_size()
        proc = subprocess.Popen([sys.executable, str(self.program), "--env-file", str(self.env_file), *args],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self._env(env, args))
        return RunningProgram(self, proc, before)

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
        return read_object(client, real_bucket, real_key)

    def backup_keys(self, bucket: str) -> set[str]:
        prefix = self.backup_key(bucket, "") + "/"
        return {o.object_name[len(prefix):] for o in
                self.dst.list_objects(self.target_bucket, prefix=prefix, recursive=True)}

    def recorded_argv(self) -> str:
        return self.argv_log.read_text() if self.argv_log.exists() else ""


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _io_counts(pid: int) -> tuple[int, int]:
    """Bytes a process has read and written through any descriptor (sockets included)."""
    try:
        fields = dict(line.split(": ") for line in Path(f"/proc/{pid}/io").read_text().splitlines())
    except OSError:
        return 0, 0
    return int(fields["rchar"]), int(fields["wchar"])


@dataclass
class RunningProgram:
    deployment: Deployment
    proc: subprocess.Popen
    log_from: int

    def log(self) -> list[dict]:
        return self.deployment.log_since(self.log_from)

    def wait_until(self, what: str, happened: Callable[[], bool]) -> None:
        """Poll for an event of this run; fail at once if the run ends without it."""
        deadline = time.monotonic() + EVENT_TIMEOUT
        while not happened():
            if self.proc.poll() is not None:
                out, err = self.proc.communicate()
                raise AssertionError(f"the run ended (exit {self.proc.returncode}) before {what}: {err}{out}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} after {EVENT_TIMEOUT:.0f}s")
            time.sleep(0.05)

    def wait_for_log(self, message: str, bucket: str | None = None) -> None:
        self.wait_until(f"log line {message!r} for {bucket}", lambda: any(
            r["message"] == message and (bucket is None or r.get("bucket") == bucket) for r in self.log()))

    def wait_for_engine_bytes(self, at_least: int) -> None:
        """Until an engine process of this run has both read and written ``at_least`` bytes: objects
        are on their way from one server to the other."""
        def moving() -> bool:
            return any(min(_io_counts(child)) >= at_least for child in _children(self.proc.pid))
        self.wait_until(f"engine moving {at_least} bytes", moving)

    def finish(self, timeout: float = EVENT_TIMEOUT) -> Run:
        out, err = self.proc.communicate(timeout=timeout)
        return Run(self.proc.returncode, out, err, self.log())
