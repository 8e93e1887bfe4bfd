"""Who holds the writers' lock and since when, for the log line and the stale-lock alarm of a run
that found the lock taken. Read-only: the file is opened without following a symlink and without
blocking, and only its first bytes are read."""

from __future__ import annotations

import os
import stat


def describe(path: str) -> tuple[int | None, float | None]:
    """(pid, held since as epoch seconds) of the lock's holder; None where it cannot be known.

    The holder writes its pid into the file when it takes the lock, so the file's mtime is when the
    lock was taken; when the file cannot be read, the start time of the pid found in it serves."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None, None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None, None
        text = os.read(fd, 32).decode("ascii", errors="replace").strip()
    except OSError:
        return None, None
    finally:
        os.close(fd)
    pid = int(text) if text.isdigit() and 0 < int(text) < 2**22 else None
    since = info.st_mtime if info.st_size else None
    if since is None and pid is not None:
        since = process_start(pid)
    return pid, since


def process_start(pid: int) -> float | None:
    """Start time of a process in epoch seconds (/proc/<pid>/stat field 22 + the boot time)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        with open("/proc/stat", encoding="ascii") as handle:
            boot = next(int(line.split()[1]) for line in handle if line.startswith("btime "))
        return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError, StopIteration):
        return None
