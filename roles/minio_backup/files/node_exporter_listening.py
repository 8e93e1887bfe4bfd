"""Waits until Debian's prometheus-node-exporter serves its listen address, or says why it does not.

The exporter exits when it cannot bind its address, and neither its init script nor systemd waits for
the bind, so a start that "succeeded" can leave nothing, or another program, on the port. The event
waited for is a listening TCP socket on the port (/proc/net/tcp, tcp6). Whose it is is then asked of
the socket itself: what answers there must report (process_start_time_seconds) the start time of a
process of this host that runs the exporter's binary. Root in a container may not read another user's
file descriptors, so the answer, not /proc/PID/fd, decides; the descriptors only name a foreign holder.
Nobody listening is waited for until the deadline, which only bounds a start that never binds. A second
live exporter process (an old one a restart did not stop) is refused as well.

Usage: node_exporter_listening.py HOST:PORT [--exe PATH] [--timeout SECONDS]
Exit codes: 0 the exporter serves the address, 1 it does not (the reason on stderr), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import urllib.request

EXPORTER = "/usr/bin/prometheus-node-exporter"
TCP_TABLES = ("/proc/net/tcp", "/proc/net/tcp6")
LISTEN = "0A"
LOGS = ("/var/log/prometheus/prometheus-node-exporter.log (without systemd) "
        "or journalctl -u prometheus-node-exporter")
# The exporter's start time has the kernel's clock-tick resolution (1/100 s).
SAME_START = 0.02


def listening_inodes(port: int) -> set[int]:
    """Inodes of the sockets listening on ``port`` at any address, IPv4 or IPv6."""
    inodes = set()
    for table in TCP_TABLES:
        try:
            with open(table, encoding="ascii") as handle:
                rows = handle.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > 9 and fields[3] == LISTEN and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(int(fields[9]))
    return inodes


def pids() -> list[str]:
    return list(filter(str.isdigit, os.listdir("/proc")))


def argv0(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().split(b"\0", 1)[0].decode("utf-8", "replace")
    except OSError:
        return ""


def start_time(pid: str) -> float | None:
    """Seconds since the epoch at which ``pid`` started, as the exporter itself computes it."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as handle:
            ticks = int(handle.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/stat", encoding="ascii") as handle:
            boot = next(int(line.split()[1]) for line in handle if line.startswith("btime "))
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def holders(inodes: set[int]) -> list[str]:
    """``exe (pid N)`` of the processes whose descriptors this process may read and that hold ``inodes``."""
    found = []
    for pid in pids():
        try:
            links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        except OSError:  # ended meanwhile, or not ours to read
            continue
        if any(link.startswith("socket:[") and int(link[8:-1]) in inodes for link in links):
            found.append(f"{argv0(pid) or '?'} (pid {pid})")
    return found


def served_start_time(host: str, port: int) -> float | None:
    """process_start_time_seconds of what answers http://HOST:PORT/metrics; None if nothing like an exporter."""
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/metrics"
    try:
        with urllib.request.urlopen(url, timeout=60) as answer:
            for raw in answer:
                line = raw.decode("utf-8", "replace")
                if line.startswith("process_start_time_seconds "):
                    return float(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def split_address(address: str) -> tuple[str, int]:
    """``HOST:PORT``, ``[V6]:PORT`` or ``:PORT`` -> the host to connect to and the port."""
    host, colon, port = address.rpartition(":")
    if not colon:
        raise ValueError(address)
    host = host.strip("[]")
    if host in ("", "0.0.0.0"):  # noqa: S104 (the wildcard is read here, not bound)
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return host, int(port)


def wait(address: str, exe: str, timeout: float) -> tuple[bool, str]:
    host, port = split_address(address)
    deadline = time.monotonic() + timeout
    while True:
        inodes = listening_inodes(port)
        if inodes:
            served = served_start_time(host, port)
            mine = [pid for pid in pids() if argv0(pid) == exe]
            for pid in mine:
                started = start_time(pid)
                if served is not None and started is not None and abs(served - started) < SAME_START:
                    if len(mine) > 1:
                        return False, (
                            f"{exe} (pid {pid}) serves http://{address}/metrics, but {len(mine)} of it run (pids "
                            f"{', '.join(mine)}): an old one was not stopped. Without systemd the package's init "
                            "script finds it through /proc/PID/exe, which root in a container without "
                            "CAP_SYS_PTRACE cannot read. Stop the others (kill PID) and run the role again.")
                    return True, f"{exe} (pid {pid}) serves http://{address}/metrics"
            named = ", ".join(holders(inodes)) or "a process this host cannot see or name"
            return False, (f"port {port} is taken by {named}, not by this host's {exe} "
                           f"({'running as pid ' + ', '.join(mine) if mine else 'not running'}): choose another "
                           f"port in minio_backup_node_exporter_listen, or stop that program. Logs: {LOGS}")
        if time.monotonic() > deadline:
            mine = [pid for pid in pids() if argv0(pid) == exe]
            state = f"running as pid {', '.join(mine)}" if mine else "not running"
            return False, (f"nothing listens on port {port} {timeout:.0f} s after the start; {exe} is {state}. "
                           f"Is minio_backup_node_exporter_listen an address of this host? Logs: {LOGS}")
        time.sleep(0.2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("address", help="the exporter's --web.listen-address, HOST:PORT")
    parser.add_argument("--exe", default=EXPORTER, help="the exporter's binary (default %(default)s)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds (default %(default)s)")
    args = parser.parse_args(argv)
    try:
        port = split_address(args.address)[1]
    except ValueError:
        parser.error(f"{args.address!r} is not HOST:PORT")
    if not 0 < port < 65536:
        parser.error(f"port {port} is not between 1 and 65535")
    ok, message = wait(args.address, args.exe, args.timeout)
    print(message, file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
