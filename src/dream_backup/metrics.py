"""Prometheus textfile metrics (BACKUP_METRICS_FILE), written to a temp file and renamed, so the
node exporter never reads half a file. Values of earlier runs for other buckets are kept."""

from __future__ import annotations

import errno
import os
import stat
import tempfile

from dream_backup import facts, safe_open
from dream_backup.errors import ConfigError

HELP = facts.METRICS  # names and texts are shared with the status module


def label_value(text: str) -> str:
    """A label value escaped as the Prometheus text format requires (a quote or newline in it would
    otherwise end the series and let the text after it forge another)."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def check_directory(directory: str) -> None:
    """ConfigError unless ``directory`` is root's and nobody else can write it: another account that can
    would swap names under the file root writes (the node exporter's own directory is root's 0755; only
    its reader is another account)."""
    st = os.lstat(directory)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid not in (0, os.geteuid()) or st.st_mode & 0o022:
        raise ConfigError(f"metrics directory {directory} is {safe_open.describe(st)}; refused: another account "
                          "could replace the metrics file there (it must be root's and not writable by group "
                          "or others)")


def check_writable(path: str) -> None:
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory) or not os.access(directory, os.W_OK):
        raise ConfigError(f"metrics directory {directory} does not exist or is not writable")
    check_directory(directory)
    if os.path.lexists(path):
        os.close(safe_open.open_regular(path, os.O_RDONLY, "metrics file"))


def _read(path: str) -> dict[tuple[str, str], str]:
    """The series of the file; OSError (never a followed link) when something else stands at ``path``."""
    values = {}
    if not os.path.lexists(path):
        return values
    try:
        fd = safe_open.open_regular(path, os.O_RDONLY, "metrics file")
    except ConfigError as exc:
        raise OSError(errno.EPERM, str(exc)) from None
    with os.fdopen(fd, encoding="utf-8", errors="replace") as handle:
        for name, labels, value in facts.series(handle.read()):
            values[(name, labels)] = value
    return values


def update(path: str, samples: dict[tuple[str, str], float]) -> None:
    """Merge ``samples`` ((name, bucket or '') -> value) into the file."""
    values = _read(path)
    for (name, bucket), value in samples.items():
        labels = f'{{bucket="{label_value(bucket)}"}}' if bucket else ""
        values[(name, labels)] = f"{value:.3f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)
    lines = []
    for name, text in HELP.items():
        series = sorted((labels, v) for (n, labels), v in values.items() if n == name)
        if series:
            lines += [f"# HELP {name} {text}", f"# TYPE {name} gauge"]
            lines += [f"{name}{labels} {v}" for labels, v in series]
    directory = os.path.dirname(path) or "."
    try:
        check_directory(directory)  # also on a run whose configuration was refused (outcome.py)
    except ConfigError as exc:
        raise OSError(errno.EPERM, str(exc)) from None
    # mkstemp: O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC, a fresh name nobody could have planted; os.replace then
    # swaps the name itself (a link at ``path`` is replaced, never followed).
    fd, tmp = tempfile.mkstemp(prefix=".dream-backup-metrics.", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            # On the descriptor: a name can be swapped for a link to another file between write and chmod.
            os.fchmod(handle.fileno(), 0o644)
            handle.write("\n".join(lines) + "\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
