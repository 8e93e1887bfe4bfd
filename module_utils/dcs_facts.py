"""Facts the backup program and the modules that read its traces must agree on, each defined here once:
default paths, metric names, the log messages a reader looks for, exit codes, the parsers of the metrics
file and of the JSON logs, who holds the writers' lock, and how a byte count is shown.

One file for two worlds: the status module imports it from module_utils (AnsiballZ ships
it to the host), and the program's src/dream_backup/facts.py is a link to it that src/build.py stores in
the zipapp as a plain file. So: Python 3.11 standard library only, nothing from ansible or dream_backup.
The names and texts are a contract (docs/contract.md): change none of them without the monitoring rules,
the playbooks and the operators' greps."""

from __future__ import annotations

import json
import os
import re
import stat
from datetime import UTC, datetime

# Default paths (the env file's variables override all but the env file itself).
ENV_FILE = "/etc/dream-central-storage/backup.env"
BACKUP_LOG = "/var/log/minio-backup.log"
DRILL_LOG = "/var/log/minio-restore-drill.log"
LOCK_FILE = "/run/dream-backup/dream-backup.lock"
STATE_DIR = "/var/lib/dream-backup"
PROC_LOCKS = "/proc/locks"

# Metric names of the Prometheus textfile (BACKUP_METRICS_FILE).
LAST_RUN = "dream_backup_last_run_timestamp_seconds"
LAST_SUCCESS = "dream_backup_last_success_timestamp_seconds"
BUCKET_SUCCESS = "dream_backup_bucket_success"
OBJECTS = "dream_backup_objects"
BYTES = "dream_backup_bytes"
DURATION = "dream_backup_duration_seconds"
EXIT_CODE = "dream_backup_exit_code"
DRILL_LAST_SUCCESS = "dream_backup_drill_last_success_timestamp_seconds"
DRILL_SUCCESS = "dream_backup_drill_success"
CONTENT_VERIFIED = "dream_backup_content_verified_objects"
CONTENT_CORRUPT = "dream_backup_content_corrupt_objects"
CONTENT_LAST_FULL_CYCLE = "dream_backup_content_last_full_cycle_timestamp_seconds"
REHEARSAL_LAST_SUCCESS = "dream_backup_rehearsal_last_success_timestamp_seconds"
REHEARSAL_RATE = "dream_backup_rehearsal_bytes_per_second"
ESTIMATED_RESTORE = "dream_backup_estimated_restore_seconds"
RTO_BUDGET = "dream_backup_rto_budget_seconds"
CHANGED_OBJECTS = "dream_backup_changed_objects"
DELETED_OBJECTS = "dream_backup_deleted_objects"
BUCKET_HELD = "dream_backup_bucket_held"
UNSTORABLE_OBJECTS_METRIC = "dream_backup_unstorable_objects"
# Every metric with its HELP text, in the order the file lists them.
METRICS = {
    LAST_RUN: "Time the last backup run ended.",
    LAST_SUCCESS: "Time of the last successful mirror of a bucket.",
    BUCKET_SUCCESS: "1 if the last mirror of the bucket succeeded and was verified, else 0.",
    OBJECTS: "Objects copied by the last mirror of the bucket.",
    BYTES: "Bytes copied by the last mirror of the bucket.",
    DURATION: "Duration of the last mirror of the bucket.",
    EXIT_CODE: "Exit code of the last backup run.",
    DRILL_LAST_SUCCESS: "Time of the last passing restore drill of a bucket.",
    DRILL_SUCCESS: "1 if the last restore drill of the bucket passed, else 0.",
    CONTENT_VERIFIED: "Objects whose backup and production copies the last content verification of the bucket "
                      "compared.",
    CONTENT_CORRUPT: "Objects the last content verification of the bucket found corrupt or missing.",
    CONTENT_LAST_FULL_CYCLE: "Time the last slice of a content verification cycle of the bucket passed.",
    REHEARSAL_LAST_SUCCESS: "Time of the last passing restore rehearsal of a bucket.",
    REHEARSAL_RATE: "Bytes per second the last passing restore rehearsal of the bucket restored.",
    ESTIMATED_RESTORE: "Estimated seconds to restore the whole bucket, from its last passing rehearsal's rates "
                       "and the backup's size.",
    RTO_BUDGET: "Restore time allowed for the bucket (BACKUP_RTO_BUDGET_HOURS), exported with its estimate.",
    CHANGED_OBJECTS: "Objects on both sides that the last backup run of the bucket found would be overwritten "
                     "(the guard's count).",
    DELETED_OBJECTS: "Objects deleted at the source since the last successful backup of the bucket (the guard's "
                     "count).",
    BUCKET_HELD: "1 if the guard held the last mirror of the bucket (nothing copied), else 0.",
    UNSTORABLE_OBJECTS_METRIC: "Objects of the bucket the engine cannot verify or restore by name "
                               "(docs/unstorable.md); they do not fail the bucket.",
}

# Messages of the structured log (MINIO_BACKUP_LOG), verbatim from the runbook: operators grep for them.
STARTING_MIRROR = "Starting mirror"
COMPLETED_MIRROR = "Completed mirror"
MIRROR_FAILED = "Mirror failed"
BACKUP_FAILED = "Backup failed"
BACKUP_COMPLETED = "Backup completed"
MIRROR_EVENT = "Mirror event"
MIRROR_HELD = "Mirror held"
CHANGES_ACCEPTED = "Changes accepted"
GUARD_STATE_NOT_SAVED = "Guard state not saved"
UNSTORABLE_OBJECTS = "Unstorable objects"
BACKUP_SKIPPED = "Backup skipped: another run is in progress"
# What a bucket's last mirror line says about it.
MIRROR_RESULTS = {COMPLETED_MIRROR: "ok", MIRROR_FAILED: "failed", MIRROR_HELD: "held"}

EXIT_MEANINGS = {0: "success", 1: "runtime failure", 2: "refused", 75: "skipped - lock held"}

# name{labels} value; label values are quoted with backslash escapes (Prometheus text format).
_SERIES = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[^"}]|"(?:[^"\\\n]|\\.)*")*\})?\s+(\S+)')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)"')
_UNESCAPE = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}


class Unreadable(Exception):
    """A path that exists but is not a regular file we may read (link, FIFO, directory, no permission)."""


def human_bytes(count: int) -> str:
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{count} B"


def series(text: str):
    """(name, labels text or '', value text) of each series line of a Prometheus textfile; comments and
    malformed lines are skipped."""
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            match = _SERIES.match(line)
            if match:
                yield match.group(1), match.group(2) or "", match.group(3)


def label_values(labels: str) -> dict[str, str]:
    return {k: re.sub(r'\\[\\"n]', lambda m: _UNESCAPE[m.group(0)], v) for k, v in _LABEL.findall(labels)}


def parse_metrics(text: str) -> dict[tuple[str, str], float]:
    """{(name, bucket or ''): float} of a Prometheus textfile."""
    values = {}
    for name, labels, value in series(text):
        try:
            values[(name, label_values(labels).get("bucket", ""))] = float(value)
        except ValueError:
            continue
    return values


def read_tail(path: str, limit: int) -> str | None:
    """Text of the last ``limit`` bytes of a regular file (not following links), or None when absent; the
    first line is dropped when it was cut. Unreadable when something else stands at ``path``."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise Unreadable(f"{path} cannot be read ({exc.strerror}; a symbolic link is never followed)") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Unreadable(f"{path} is not a regular file")
        start = max(0, info.st_size - limit)
        os.lseek(fd, start, os.SEEK_SET)
        chunks = []
        while chunk := os.read(fd, 1024 * 1024):
            chunks.append(chunk)
    finally:
        os.close(fd)
    text = b"".join(chunks).decode("utf-8", errors="replace")
    if start > 0:
        text = text.split("\n", 1)[1] if "\n" in text else ""
    return text


def parse_time(text) -> float | None:
    """Epoch seconds of an ISO 8601 time (``Z`` or an offset; naive means UTC), or None."""
    if not isinstance(text, str) or not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def json_records(text: str | None):
    """The JSON objects of a log, one a line; other lines are skipped."""
    for raw in (text or "").splitlines():
        line = raw.strip()
        if not line.startswith("{"):
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            yield record


def parse_backup_log(text: str | None) -> dict:
    """Per bucket the last ``Completed mirror`` time and the last mirror outcome (with its reason)."""
    buckets = {}
    for record in json_records(text):
        bucket, message = record.get("bucket"), record.get("message")
        if not isinstance(bucket, str) or message not in MIRROR_RESULTS:
            continue
        entry = buckets.setdefault(bucket, {"completed": None, "last": None, "reason": None})
        ts = parse_time(record.get("ts"))
        entry["last"] = message
        entry["reason"] = record.get("reason") if message != COMPLETED_MIRROR else None
        if message == COMPLETED_MIRROR and ts is not None:
            entry["completed"] = ts
    return buckets


def _drill_entry(buckets: dict, name: str) -> dict:
    return buckets.setdefault(name, {"time": None, "verdict": None, "note": None, "last_pass": None,
                                     "restorable_since": None})


def parse_drill_log(text: str | None) -> tuple[dict, dict | None]:
    """Per bucket the last drill (time, verdict, note, restorable_since), the last passing drill's time and
    the last passing rehearsal (``rehearsal``: time, estimate, budget); and the last drill record overall."""
    buckets, last = {}, None
    for record in json_records(text):
        ts = parse_time(record.get("ts"))
        if ts is not None and record.get("kind") == "rehearsal" and isinstance(record.get("bucket"), str):
            _note_rehearsal(buckets, record, ts)
        if ts is None or not isinstance(record.get("buckets"), list):
            continue
        last = {"time": iso(ts), "verdict": record.get("verdict")}
        top_since = record.get("restorable_since") if isinstance(record.get("restorable_since"), dict) else {}
        for summary in record["buckets"]:
            if not isinstance(summary, dict) or not isinstance(summary.get("bucket"), str):
                continue
            name = summary["bucket"]
            entry = _drill_entry(buckets, name)
            entry.update(time=ts, verdict=summary.get("verdict"), note=summary.get("note"))
            since = summary.get("restorable_since", top_since.get(name))
            if since:
                entry["restorable_since"] = since
            if summary.get("verdict") == "pass":
                entry["last_pass"] = ts
    return buckets, last


def _note_rehearsal(buckets: dict, record: dict, ts: float) -> None:
    """A passing rehearsal's time, estimate and budget, kept with its bucket's drill entry (the drill fields
    stay as they were: a rehearsal is no drill)."""
    if record.get("verdict") != "pass" or not isinstance(record.get("estimated_restore_seconds"), (int, float)):
        return
    budget = record.get("rto_budget_seconds")
    _drill_entry(buckets, record["bucket"])["rehearsal"] = {
        "time": ts, "estimate": float(record["estimated_restore_seconds"]),
        "budget": float(budget) if isinstance(budget, (int, float)) else None}


def lock_pid_and_since(path: str) -> tuple[int | None, float | None]:
    """(pid, held since as epoch seconds) of the lock's holder as the lock file tells it; None where it
    cannot be known. Read-only: opened without following a symlink and without blocking.

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


def _holds_open(pid: int, wanted: tuple[int, int]) -> bool:
    """Whether process ``pid`` has the file (st_dev, st_ino) ``wanted`` open (stat through /proc/PID/fd
    shows the file as this mount namespace sees it)."""
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for name in names:
        try:
            info = os.stat(f"/proc/{pid}/fd/{name}")
        except OSError:
            continue
        if (info.st_dev, info.st_ino) == wanted:
            return True
    return False


def lock_holder(path: str, proc_locks: str = PROC_LOCKS) -> tuple[bool, int | None]:
    """(held, pid) for the lock file, from /proc/locks; (False, None) when the file does not exist.
    Nothing is opened for writing, created or locked: a probe that took the lock for a moment could make
    a run starting at that moment give up with exit code 75.

    /proc/locks names the locked file by device and inode. On overlayfs (containers) it shows the upper
    file system's device while stat() shows the overlay's, so an entry with the right inode and another
    device counts when its process has the lock file open."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return False, None
    if not stat.S_ISREG(info.st_mode):
        raise Unreadable(f"lock file {path} is not a regular file")
    device = (os.major(info.st_dev), os.minor(info.st_dev))
    with open(proc_locks, encoding="ascii", errors="replace") as handle:
        for line in handle:
            # "1: FLOCK  ADVISORY  WRITE 1234 fe:00:2149560 0 EOF"; blocked waiters carry "->".
            fields = line.split()
            if len(fields) < 6 or fields[1] != "FLOCK":
                continue
            try:
                major, minor, inode = fields[5].split(":")
                found_device, found_inode = (int(major, 16), int(minor, 16)), int(inode)
            except ValueError:
                continue
            if found_inode != info.st_ino:
                continue
            pid = int(fields[4]) if fields[4].isdigit() and int(fields[4]) > 0 else None
            if found_device == device or (pid and _holds_open(pid, (info.st_dev, info.st_ino))):
                return True, pid
    return False, None
