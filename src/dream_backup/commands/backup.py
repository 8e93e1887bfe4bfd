"""`dream-backup [--bucket B]… [--dry-run]`: mirror each bucket, verify it, log, metrics, pings."""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

from dream_backup import facts, guard, health, lock, outcome, verify
from dream_backup.engines.base import BACKUP, SOURCE, CopyResult, Location
from dream_backup.errors import EXIT_FAILURE, EXIT_OK, EXIT_REFUSED, EngineError
from dream_backup.listing import Listing, only_in, pairs
from dream_backup.log import (
    BACKUP_COMPLETED,
    BACKUP_FAILED,
    CHANGES_ACCEPTED,
    COMPLETED_MIRROR,
    GUARD_STATE_NOT_SAVED,
    MIRROR_EVENT,
    MIRROR_FAILED,
    MIRROR_HELD,
    STARTING_MIRROR,
    UNSTORABLE_OBJECTS,
)
from dream_backup.report import human_bytes, one_line, table
from dream_backup.state import StateDir


@dataclass
class BucketResult:
    verdict: str = "failed"
    objects: int = 0
    bytes: int = 0
    seconds: float = 0.0
    verified: int = 0
    changed_during_run: int = 0
    deleted: int = 0
    reason: str | None = None
    guard_changed: int = 0  # objects on both sides the night would overwrite (docs/guard.md)
    guard_deleted: int = 0  # objects deleted at the source since the last successful backup
    held: bool = False
    unstorable: int = 0  # source objects the engine cannot verify or restore by name (docs/unstorable.md)


class Held(EngineError):
    """The guard held the bucket: nothing was copied."""


def mirror_locations(config, bucket: str) -> tuple[Location, Location]:
    """A production bucket and where the backup mirrors it."""
    return Location(SOURCE, bucket), Location(BACKUP, config.target_bucket, config.backup_path(bucket))


def list_both(engine, src: Location, dst: Location):
    with ThreadPoolExecutor(max_workers=2) as pool:
        source = pool.submit(engine.list, src)
        target = pool.submit(engine.list, dst)
        return source.result(), target.result()


def spool_both(pool: ThreadPoolExecutor, engine, config, bucket: str):
    """Futures of the bucket's source and target listings, spooled to disk (listing.py)."""
    src, dst = mirror_locations(config, bucket)
    return (pool.submit(Listing.spool, engine, src, f"{bucket}.source"),
            pool.submit(Listing.spool, engine, dst, f"{bucket}.target"))


def prefetch(pool: ThreadPoolExecutor, engine, config, buckets) -> dict:
    """Start every bucket's source and target listing at once (a no-change run is mostly listings)."""
    return {bucket: spool_both(pool, engine, config, bucket) for bucket in buckets}


def accepted_by() -> str:
    """Who accepted a held night: the sudo caller, else the login name, else the running account."""
    if os.environ.get("SUDO_USER"):
        return os.environ["SUDO_USER"]
    try:
        return os.getlogin()
    except OSError:
        pass
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return f"uid {os.getuid()}"


def check_guard(ctx, bucket: str, counts: guard.Counts, result: BucketResult, accept: bool) -> None:
    """Hold the bucket (raise Held) when the night looks like a disaster, unless it was accepted."""
    result.guard_changed, result.guard_deleted = counts.changed, counts.deleted
    percent = ctx.config.guard_threshold(bucket)
    reason = guard.hold_reason(counts, percent, ctx.config.guard_min_objects)
    if accept:
        ctx.log.warning(CHANGES_ACCEPTED, bucket=bucket, accepted_by=accepted_by(), changed=counts.changed,
                        deleted=counts.deleted, baseline=counts.baseline, would_hold=reason is not None,
                        reason=guard.describe(counts, percent))
    elif reason:
        result.held = True
        raise Held(f"held by the guard: {reason}; if this change is real, run dream-backup --accept-changes "
                   f"--bucket {bucket} (docs/guard.md)")


def mirror_bucket(ctx, engine, bucket: str, listings, states: StateDir | None = None,
                  accept: bool = False) -> BucketResult:
    config, log = ctx.config, ctx.log
    started = time.monotonic()
    result = BucketResult()
    log.info(STARTING_MIRROR, bucket=bucket)
    src, dst = mirror_locations(config, bucket)
    spooled = []
    try:
        for future in listings:
            with contextlib.suppress(EngineError):
                spooled.append(future.result())
        before, target = (listing.result() for listing in listings)
        last = states.last(bucket) if states else None
        counts = guard.count(before, target, last)
        check_guard(ctx, bucket, counts, result, accept)
        copied = CopyResult()
        # A plan that holds no key also has no mismatch (whatever differs is copied), so an unchanged
        # bucket is compared once (the guard's join, in SQL).
        if counts.planned or (config.remove and next(only_in(target, before), None) is not None):
            copied = engine.copy(src, dst, remove=config.remove, overwrite=True, timeout=config.timeout,
                                 on_event=lambda event: log_event(ctx, bucket, event))
            if copied.errors:
                raise EngineError(copied.summary())
            target = Listing.spool(engine, dst, f"{bucket}.target")
            spooled.append(target)
            # Never skipped after a copy: mc exits 0 on several real failures (docs/mc.md), so only the
            # target's listing counts.
            wrong = verify.mismatch_pairs(pairs(before, target, skip_identical=True))
            unstorable = verify.unstorable(wrong, target.get)
            for key in unstorable:
                del wrong[key]
            report_unstorable(ctx, engine, bucket, result, unstorable)
        else:
            wrong = {}
        changed: set[str] = set()
        if wrong:
            now = Listing.spool(engine, src, f"{bucket}.now")
            spooled.append(now)
            changed = {key for key, entry in ((k, now.get(k)) for k in wrong)
                       if verify.changed_since(before.get(key), entry)}
            failures = {k: v for k, v in wrong.items() if k not in changed}
            if failures:
                first = sorted(failures)[0]
                raise EngineError(f"verification failed: {len(failures)} of {len(before)} objects not at the "
                                  f"target as at the source (first: {first}: {failures[first]})")
        result.verdict = "ok"
        result.objects = len(copied.keys)
        result.bytes = before.sizes(copied.keys)
        result.verified = len(before) - len(changed) - result.unstorable
        result.changed_during_run = len(changed)
        result.deleted = copied.deleted
        save_state(ctx, states, bucket, before, counts)
    except EngineError as exc:
        result.reason = str(exc)
    finally:
        for listing in spooled:
            listing.remove()
    result.seconds = round(time.monotonic() - started, 3)
    fields = {k: v for k, v in asdict(result).items() if k not in ("verdict", "reason")}
    if result.verdict == "ok":
        log.info(COMPLETED_MIRROR, bucket=bucket, **fields)
    elif result.held:
        log.error(MIRROR_HELD, bucket=bucket, reason=result.reason, **fields)
    else:
        log.error(MIRROR_FAILED, bucket=bucket, reason=result.reason, **fields)
    return result


UNSTORABLE_KEYS_LOGGED = 20  # keys the warning names; its count covers all


def report_unstorable(ctx, engine, bucket: str, result: BucketResult, keys: list[str]) -> None:
    """A warning each night, not a failure: no retry can change what the engine can name, and the
    bucket's other objects are verified as always (docs/unstorable.md)."""
    result.unstorable = len(keys)
    if keys:
        ctx.log.warning(UNSTORABLE_OBJECTS, bucket=bucket, count=len(keys), keys=keys[:UNSTORABLE_KEYS_LOGGED],
                        reason=f"{len(keys)} objects (first: {keys[0]}): {engine.unstorable_reason()}")


def save_state(ctx, states: StateDir | None, bucket: str, before: Listing, counts: guard.Counts) -> None:
    """The source listing just backed up becomes the bucket's last successful one. Skipped when its keys
    are those of the last one (nothing deleted, as many objects): an unchanged night writes nothing.
    A failure to save is a warning: the guard then compares with an older listing, which only errs
    towards holding."""
    if states is None or (counts.has_last and not counts.deleted and counts.source == counts.baseline):
        return
    try:
        states.save(bucket, before)
    except OSError as exc:
        ctx.log.warning(GUARD_STATE_NOT_SAVED, bucket=bucket, reason=f"{states.file(bucket)}: {exc.strerror}")


def log_event(ctx, bucket: str, event: dict) -> None:
    """One `Mirror event` for an object the engine reports copied or deleted, with its own payload,
    logged as the engine reports it."""
    ctx.log.info(MIRROR_EVENT, bucket=bucket, event=ctx.scrub.value(event))


def dry_run(ctx, engine, buckets, states: StateDir | None = None) -> int:
    rows, code, plans = [], EXIT_OK, {}
    for bucket in buckets:
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = spool_both(pool, engine, ctx.config, bucket)
        try:
            source, target = (future.result() for future in futures)
            keys = verify.plan_pairs(pairs(source, target, skip_identical=True))
            size = source.sizes(keys)
            deletions = sum(1 for _ in only_in(target, source)) if ctx.config.remove else 0
            counts = guard.count(source, target, states.last(bucket) if states else None)
        except EngineError as exc:
            rows.append([bucket, "-", "-", "-", "-", "-", f"error: {exc}"])
            code = EXIT_FAILURE
            continue
        finally:
            for future in futures:
                if future.exception() is None:
                    future.result().remove()
        percent = ctx.config.guard_threshold(bucket)
        held = guard.hold_reason(counts, percent, ctx.config.guard_min_objects)
        verdict = "off" if percent is None else ("would hold" if held else "pass")
        plans[bucket] = {"objects": len(keys), "bytes": size, "keys": keys[:20], "deletions": deletions,
                         "guard": {"changed": counts.changed, "deleted": counts.deleted,
                                   "baseline": counts.baseline, "verdict": verdict,
                                   "reason": guard.describe(counts, percent)}}
        note = ", ".join(keys[:5]) + (" …" if len(keys) > 5 else "")
        if deletions:
            note = f"would delete {deletions}; " + note
        rows.append([bucket, str(len(keys)), human_bytes(size), str(counts.changed), str(counts.deleted),
                     verdict, note])
    ctx.log.info("Dry run", results=plans)
    failed = [row[0] for row in rows if row[-1].startswith("error: ")]
    if failed:
        ctx.log.error(BACKUP_FAILED, dry_run=True, reason=f"dry run: listing failed for {', '.join(failed)}")
    print("Dry run: nothing was copied.")
    print(table(["bucket", "would copy", "bytes", "overwritten", "deleted at source", "guard", "first keys"],
                rows))
    return code


def run(ctx, args) -> int:
    config = ctx.config
    buckets = args.bucket or list(config.buckets)
    engine = ctx.engine()
    if args.dry_run:
        states = StateDir.open(config.state_dir, create=False)
        for bucket in buckets:
            states.last(bucket)
        return dry_run(ctx, engine, buckets, states)
    with lock.hold(config.lock_file):
        # Checked before anything is touched: a forged state refuses the whole run (exit 2).
        states = StateDir.open(config.state_dir)
        for bucket in buckets:
            states.last(bucket)
        return backup(ctx, engine, buckets, states, accept=args.accept_changes)


def backup(ctx, engine, buckets, states: StateDir | None = None, accept: bool = False) -> int:
    config, log = ctx.config, ctx.log
    health.ping(config.healthcheck_url, "start", log)
    results: dict[str, BucketResult] = {}
    refused = False
    with ThreadPoolExecutor(max_workers=4) as pool:
        listings = prefetch(pool, engine, config, buckets)  # reads only; used once versioning is confirmed
        try:
            state = engine.versioning(config.target_bucket)
        except EngineError as exc:
            reason = f"target bucket {config.target_bucket} not usable: {exc}"
        else:
            reason = None
            if state != "Enabled" and config.require_versioning:
                refused = True
                reason = (f"refused: versioning of target bucket {config.target_bucket} is "
                          f"{state or 'off'}; an overwrite could destroy the only good copy. Enable versioning "
                          "(or object lock), or set BACKUP_REQUIRE_VERSIONING=false")
        if reason is None:
            for bucket in buckets:
                results[bucket] = mirror_bucket(ctx, engine, bucket, listings[bucket], states, accept)
            failed = [f"{b} (held by the guard)" if r.held else b for b, r in results.items() if r.verdict != "ok"]
            if failed:
                reason = f"{len(failed)} of {len(results)} buckets failed: {', '.join(failed)}"
            samples = bucket_samples(results)
        else:
            # The target is unusable for every bucket: each one failed, and says so.
            samples = outcome.buckets_failed(log, buckets, reason)
            results = {bucket: BucketResult(reason=reason) for bucket in buckets}
    summary = {b: asdict(r) for b, r in results.items()}
    code = EXIT_REFUSED if refused else (EXIT_FAILURE if reason else EXIT_OK)
    if reason:
        log.error(BACKUP_FAILED, reason=reason, results=summary, host=socket.gethostname())
    else:
        log.info(BACKUP_COMPLETED, results=summary, host=socket.gethostname())
    outcome.write_metrics(log, config.metrics_file, code, samples)
    health.ping(config.healthcheck_url, "fail" if reason else "success", log, body=reason or "")
    if ctx.args.json:
        print(json.dumps({"verdict": "failed" if reason else "ok", "exit_code": code, "reason": reason,
                          "results": summary}, indent=2))
    else:
        print_summary(results, reason)
    return code


def bucket_samples(results: dict[str, BucketResult]) -> dict[tuple[str, str], float]:
    now = time.time()
    samples: dict[tuple[str, str], float] = {}
    for bucket, r in results.items():
        samples[(facts.BUCKET_SUCCESS, bucket)] = int(r.verdict == "ok")
        samples[(facts.OBJECTS, bucket)] = r.objects
        samples[(facts.BYTES, bucket)] = r.bytes
        samples[(facts.DURATION, bucket)] = r.seconds
        samples[(facts.CHANGED_OBJECTS, bucket)] = r.guard_changed
        samples[(facts.DELETED_OBJECTS, bucket)] = r.guard_deleted
        samples[(facts.BUCKET_HELD, bucket)] = int(r.held)
        samples[(facts.UNSTORABLE_OBJECTS_METRIC, bucket)] = r.unstorable
        if r.verdict == "ok":
            samples[(facts.LAST_SUCCESS, bucket)] = now
    return samples


def print_summary(results: dict[str, BucketResult], reason: str | None) -> None:
    rows = [[b, r.verdict, str(r.objects), human_bytes(r.bytes), f"{r.seconds:.1f}s", str(r.verified),
             r.reason or ""] for b, r in results.items()]
    if rows:
        print(table(["bucket", "verdict", "copied", "bytes", "duration", "verified", "reason"], rows))
    print(one_line(f"{BACKUP_FAILED}: {reason}") if reason else BACKUP_COMPLETED)
