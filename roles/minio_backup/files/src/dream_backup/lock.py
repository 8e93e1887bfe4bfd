"""The writers' lock (BACKUP_LOCK_FILE): backups and restores never run at once."""

from __future__ import annotations

import contextlib
import fcntl
import os

from dream_backup.errors import ConfigError, LockedError


@contextlib.contextmanager
def hold(path: str):
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise ConfigError(f"lock file {path} cannot be opened: {exc.strerror}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip()
            raise LockedError(f"another run holds the lock {path}"
                              + (f" (pid {holder})" if holder else "")) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)
