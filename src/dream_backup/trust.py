"""What the root-run job trusts must be writable only by root: the env file (it names the binaries the
job runs and holds the keys) and the engine binary it executes. Like sshd's StrictModes: the file must
be a regular file owned by root (or the running user) and not writable by group or others, and so must
every directory above it, except that a sticky directory (/tmp) is fine, because nobody else can
rename or remove a file they do not own there."""

from __future__ import annotations

import os
import stat

from dream_backup.errors import ConfigError
from dream_backup.safe_open import describe


def trusted_owners() -> tuple[int, ...]:
    return (0, os.geteuid())


def file_problem(st: os.stat_result) -> str | None:
    """Why a file with this stat must not be trusted, or None."""
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file"
    if st.st_uid not in trusted_owners():
        return "not owned by root"
    if st.st_mode & 0o022:
        return "writable by group or others"
    return None


def directory_problem(directory: str) -> str | None:
    """Why some directory from / down to ``directory`` (already resolved) lets others replace what is in
    it, or None."""
    current = directory
    while True:
        try:
            st = os.lstat(current)
        except OSError as exc:
            return f"directory {current} cannot be examined: {exc.strerror}"
        others_write = st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX
        if not stat.S_ISDIR(st.st_mode) or st.st_uid not in trusted_owners() or others_write:
            return f"directory {current} is {describe(st)}: others could replace what is in it"
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


def check_opened(fd: int, path: str, what: str) -> None:
    """ConfigError unless the opened file ``path`` and its directories are root's alone."""
    st = os.fstat(fd)
    problem = file_problem(st)
    if problem:
        raise ConfigError(f"{what} {path} is {describe(st)}: {problem}; refused (it must be root's alone, "
                          "e.g. chown root:root and chmod go-w)")
    problem = directory_problem(os.path.dirname(os.path.realpath(path)))
    if problem:
        raise ConfigError(f"{what} {path} refused: {problem}")


MAX_LINKS = 40  # symbolic links followed in one path, as the kernel's limit


def link_chain(path: str) -> list[str]:
    """``path`` and every symbolic link it leads through, in order, each as an absolute path (the last
    one is not a link, or the chain is longer than MAX_LINKS)."""
    chain = [os.path.abspath(path)]
    while os.path.islink(chain[-1]) and len(chain) <= MAX_LINKS:
        target = os.readlink(chain[-1])
        chain.append(os.path.normpath(os.path.join(os.path.dirname(chain[-1]), target)))
    return chain


def check_binary(path: str, what: str) -> str:
    """The resolved path of the binary ``path``, to be run instead of ``path``: ConfigError unless it is a
    root-only file in root-only directories, and every link on the way to it lies in a root-only
    directory too. Running the resolved file means that a link swapped after this check changes
    nothing. A missing binary is returned as given (the caller reports 'missing or not executable')."""
    for hop in link_chain(path)[:-1]:
        problem = directory_problem(os.path.realpath(os.path.dirname(hop)))  # and every directory above
        if problem:
            raise ConfigError(f"{what} binary {path} refused: the link {hop} is in a directory others control "
                              f"({problem})")
    real = os.path.realpath(path)
    try:
        st = os.stat(real)
    except OSError:
        return path
    problem = file_problem(st)
    if problem:
        shown = path if real == path else f"{path} (resolved to {real})"
        raise ConfigError(f"{what} binary {shown} is {describe(st)}: {problem}; refused (root would run "
                          "whatever another user writes there)")
    problem = directory_problem(os.path.dirname(real))
    if problem:
        raise ConfigError(f"{what} binary {path} refused: {problem}")
    return real
