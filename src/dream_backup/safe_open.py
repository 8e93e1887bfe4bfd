"""Opening the files a root-run job writes (logs, the drill logbook, metrics, the HTML report) the way
an attacker on the same machine would test them: the last path component is never followed if it is a
symbolic link (it could point root's write at /etc/shadow), a FIFO can never block the open, and
anything that is not a regular file is refused. Every failure is a ConfigError (exit 2) naming the
path, never a traceback."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import pwd
import stat
from collections.abc import Iterator

from dream_backup.errors import ConfigError

# O_NONBLOCK: opening a FIFO for writing with no reader would block forever; it is cleared after the
# type check. O_NOCTTY: a terminal device can never become the controlling terminal of a root job.
GUARD = os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK
KINDS = ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISDIR, "a directory"),
         (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
         (stat.S_ISREG, "a regular file"))


def kind(mode: int) -> str:
    return next((name for test, name in KINDS if test(mode)), "an unknown kind of file")


def owner(uid: int) -> str:
    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


def describe(st: os.stat_result) -> str:
    """'a FIFO owned by nobody (uid 65534), mode 0644': what a refusal names."""
    return f"{kind(st.st_mode)} owned by {owner(st.st_uid)}, mode {stat.S_IMODE(st.st_mode):04o}"


def open_failure(path: str, what: str, exc: OSError, verb: str, dir_fd: int | None = None,
                 directory: bool = False) -> ConfigError:
    """The refusal for an os.open that failed; a symbolic link (or a FIFO, ...) is named as such."""
    if exc.errno in (errno.ELOOP, errno.ENXIO, errno.EMLINK, errno.ENOTDIR):
        try:
            st = os.lstat(path if dir_fd is None else os.path.basename(path), dir_fd=dir_fd)
        except OSError:
            st = None
        expected = (stat.S_ISDIR, "a directory") if directory else (stat.S_ISREG, "a regular file")
        if st is not None and not expected[0](st.st_mode):
            return ConfigError(f"{what} {path} is {describe(st)}, not {expected[1]}; refused")
    return ConfigError(f"{what} {path} is not {verb}: {exc.strerror}")


@contextlib.contextmanager
def closed_on_refusal(fd: int, path: str, what: str, verb: str) -> Iterator[None]:
    """Checks on a descriptor just opened: when one refuses (ConfigError) or fails (an OSError, turned
    into the refusal), the descriptor is closed before the refusal leaves."""
    try:
        yield
    except OSError as exc:
        os.close(fd)
        raise ConfigError(f"{what} {path} is not {verb}: {exc.strerror}") from None
    except ConfigError:
        os.close(fd)
        raise


def open_regular(path: str, flags: int, what: str, mode: int = 0o640, dir_fd: int | None = None) -> int:
    """A blocking descriptor on the regular file ``path`` (never through a link); else ConfigError."""
    verb = "readable" if flags & os.O_ACCMODE == os.O_RDONLY else "writable"
    name = path if dir_fd is None else os.path.basename(path)
    try:
        fd = os.open(name, flags | GUARD, mode, dir_fd=dir_fd)
    except OSError as exc:
        raise open_failure(path, what, exc, verb, dir_fd) from None
    with closed_on_refusal(fd, path, what, verb):
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ConfigError(f"{what} {path} is {describe(st)}, not a regular file; refused")
        if verb == "writable" and st.st_uid not in (0, os.geteuid()):
            # In a shared directory (/tmp) another account could pre-create the file, then read or forge
            # what root writes into it.
            raise ConfigError(f"{what} {path} is {describe(st)}; refused: root writes only into its own files")
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    return fd


def open_append(path: str, what: str, mode: int = 0o640) -> int:
    return open_regular(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, what, mode)


def open_replace(path: str, what: str, mode: int = 0o644) -> int:
    """For writing from the start: a file with other hard links is refused before it is truncated
    (truncating a link to another file would destroy that file)."""
    fd = open_regular(path, os.O_WRONLY | os.O_CREAT, what, mode)
    with closed_on_refusal(fd, path, what, "writable"):
        if os.fstat(fd).st_nlink != 1:
            raise ConfigError(f"{what} {path} has other hard links; refused (writing it would change them)")
        os.ftruncate(fd, 0)
    return fd
