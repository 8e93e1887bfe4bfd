"""Every backup run that ends non-zero leaves the same traces as a failed mirror: its line in the log,
the run's metrics and the healthcheck's /fail ping, also when it ended before the backup started
(a refused configuration, a missing engine, an unusable target, a held lock)."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime

from dream_backup import facts, health, metrics
from dream_backup.errors import EXIT_LOCKED
from dream_backup.log import BACKUP_FAILED, BACKUP_SKIPPED, MIRROR_FAILED


def write_metrics(log, path: str, code: int, samples: dict[tuple[str, str], float] | None = None) -> None:
    """The run's exit code and end time, plus ``samples``; a failure to write is a warning."""
    if not path:
        return
    merged: dict[tuple[str, str], float] = {(facts.LAST_RUN, ""): time.time(),
                                            (facts.EXIT_CODE, ""): code}
    merged.update(samples or {})
    try:
        metrics.update(path, merged)
    except OSError as exc:
        log.warning("Metrics not written", reason=f"{path}: {exc.strerror}")


def buckets_failed(log, buckets, reason: str) -> dict[tuple[str, str], float]:
    """A reason that stops every bucket is each bucket's failure: one `Mirror failed` per bucket, and
    the metric samples that say so."""
    for bucket in buckets:
        log.error(MIRROR_FAILED, bucket=bucket, reason=reason)
    return {(facts.BUCKET_SUCCESS, bucket): 0 for bucket in buckets}


def backup_failed(log, *, reason: str, code: int, buckets, metrics_file: str, healthcheck_url: str,
                  dry_run: bool = False) -> None:
    """A backup run that stopped before its buckets were mirrored. A dry run only logs it: it backs up
    nothing, so it changes neither the metrics nor the healthcheck."""
    if dry_run:
        log.error(BACKUP_FAILED, dry_run=True, reason=reason, host=socket.gethostname())
        return
    samples = buckets_failed(log, buckets, reason)
    log.error(BACKUP_FAILED, reason=reason, host=socket.gethostname())
    write_metrics(log, metrics_file, code, samples)
    health.ping(healthcheck_url, "fail", log, body=log.scrub(reason))


def backup_skipped(log, *, reason: str, pid: int | None, held_since: float | None, stale_after: float,
                   metrics_file: str, healthcheck_url: str) -> None:
    """Another run holds the lock: a warning; a /fail ping once the lock is held longer than a run may
    take (a stuck run blocks every later backup)."""
    held_for = time.time() - held_since if held_since is not None else None
    stale = held_for is not None and held_for > stale_after
    since = datetime.fromtimestamp(held_since, UTC).isoformat(timespec="seconds") if held_since else None
    fields = {"reason": reason, "pid": pid, "held_since": since,
              "held_seconds": round(held_for) if held_for is not None else None}
    log.warning(BACKUP_SKIPPED, stale=stale, **fields)
    write_metrics(log, metrics_file, EXIT_LOCKED)
    if stale:
        health.ping(healthcheck_url, "fail", log,
                    body=f"{reason}; held for {round(held_for)}s, longer than {stale_after:.0f}s")
