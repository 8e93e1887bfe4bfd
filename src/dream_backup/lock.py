"""The writers' lock (BACKUP_LOCK_FILE): backups and restores never run at once.

Nobody else may touch it: in a world-writable directory (/run/lock) any user could create the file
first and hold it, and every backup would stop. So the lock lives in a directory of its own that only
the running user (root) can write (created 0700 when missing), the file is opened relative to that
directory without following a link and without blocking on a FIFO, and anything but a regular file of
ours with one link is refused (exit 2) with a reason naming what is there."""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat

from dream_backup.errors import ConfigError, LockedError
from dream_backup.safe_open import describe, open_failure, open_regular

HOLDER_BYTES = 64


def open_directory(directory: str) -> int:
    """A descriptor on the lock's directory, created 0700 when missing; ConfigError unless it is a real
    directory of the running user that nobody else can write."""
    try:
        os.mkdir(directory, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise ConfigError(f"lock directory {directory} cannot be created: {exc.strerror}") from None
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise open_failure(directory, "lock directory", exc, "usable", directory=True) from None
    st = os.fstat(fd)
    if st.st_uid != os.geteuid() or st.st_mode & 0o022:
        os.close(fd)
        raise ConfigError(f"lock directory {directory} is {describe(st)}; refused: another user could create "
                          f"or hold the lock there (it must be owned by uid {os.geteuid()} and not writable "
                          "by group or others, e.g. /run/dream-backup, mode 0700)")
    return fd


def open_lock(path: str) -> int:
    directory = os.path.dirname(path) or "."
    dir_fd = open_directory(directory)
    try:
        fd = open_regular(path, os.O_RDWR | os.O_CREAT, "lock file", 0o600, dir_fd=dir_fd)
    finally:
        os.close(dir_fd)
    st = os.fstat(fd)
    if st.st_uid != os.geteuid() or st.st_nlink != 1 or not stat.S_ISREG(st.st_mode):
        os.close(fd)
        links = "" if st.st_nlink == 1 else f" with {st.st_nlink} hard links"
        raise ConfigError(f"lock file {path} is {describe(st)}{links}; refused (only a file of uid "
                          f"{os.geteuid()} with one link is used as the lock)")
    return fd


def holder_text(fd: int) -> str:
    """What the holder wrote (its pid), quoted: the file's bytes are never echoed raw into a log."""
    try:
        data = os.pread(fd, HOLDER_BYTES, 0).strip()
    except OSError:
        return ""
    if data.isdigit():
        return f" (pid {data.decode()})"
    return f" (the lock file holds {data.decode(errors='backslashreplace')!r})" if data else ""


@contextlib.contextmanager
def hold(path: str):
    fd = open_lock(path)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockedError(f"another run holds the lock {path}{holder_text(fd)}") from None
        except OSError as exc:
            raise ConfigError(f"lock file {path} cannot be locked: {exc.strerror}") from None
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError as exc:
            raise ConfigError(f"lock file {path} is not writable: {exc.strerror}") from None
        yield
    finally:
        os.close(fd)
