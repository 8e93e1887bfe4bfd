"""`dream-backup rehearse --bucket B [--sample-bytes SIZE] [--seed S] [--json]`: a timed restore rehearsal
(docs/rehearsal.md).

Restores a random sample of whole top-level prefixes (a book is one folder) of at least SIZE bytes (the
whole bucket when it holds less) from the bucket's backup into the scratch bucket
BACKUP_REHEARSAL_BUCKET on the production server, under a folder that names the run
(`<host>-<bucket>-<UTC time>/`), verifies every restored object by sha256 against its backup copy
(both streamed), measures objects/s and bytes/s of the copy, estimates the time a restore of the whole
bucket takes (the backup listing's objects and bytes at the measured rates, whichever rate gives the
longer time), and removes exactly the objects it wrote.

Refused (exit 2) before anything is written when the scratch bucket is one of the backed-up buckets or
holds any object (this run cannot tell a leftover from a production object, so it touches neither).
Runs of the rehearsal exclude each other with a lock of their own beside BACKUP_LOCK_FILE (exit 75);
the backup lock is not taken: the rehearsal only reads the backup and writes only its own folder."""

from __future__ import annotations

import json
import os
import random
import re
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from dream_backup import facts, lock, metrics, safe_open
from dream_backup.commands.drill import check_logbook
from dream_backup.commands.restore import refuse_carried_lock
from dream_backup.engines.base import BACKUP, SOURCE, Location
from dream_backup.engines.history import Version
from dream_backup.errors import EXIT_FAILURE, EXIT_OK, ConfigError, EngineError
from dream_backup.log import json_line, utc_now
from dream_backup.report import human_bytes, one_line, table
from dream_backup.verify import differs

STARTING = "Starting restore rehearsal"
COMPLETED = "Completed restore rehearsal"
FAILED = "Restore rehearsal failed"
DEFAULT_SAMPLE_BYTES = 256 * 1024 * 1024
LOCK_SUFFIX = ".rehearsal"
READERS = 4  # restored objects verified at once (each streams both copies)
SHOWN = 50  # keys and prefixes named in the result
_SIZE = re.compile(r"^(\d+)\s*(B|K|KB|KIB|M|MB|MIB|G|GB|GIB|T|TB|TIB)?$")
_UNITS = {"B": 1, "K": 10**3, "KB": 10**3, "M": 10**6, "MB": 10**6, "G": 10**9, "GB": 10**9, "T": 10**12,
          "TB": 10**12, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


def parse_size(text: str) -> int:
    """Bytes of ``256MiB``, ``1GiB``, ``500M`` or a plain byte count; ValueError otherwise."""
    match = _SIZE.match(text.strip().upper())
    if not match or int(match.group(1)) < 1:
        raise ValueError(f"{text!r} is not a size such as 256MiB, 1GiB or a number of bytes")
    return int(match.group(1)) * _UNITS[match.group(2) or "B"]


def top_level(key: str) -> str:
    """The top-level prefix of ``key`` (``book-001/`` of ``book-001/config.json``); a key without a
    folder is its own prefix."""
    head, slash, _ = key.partition("/")
    return head + slash


def choose_prefixes(sizes: dict[str, int], sample_bytes: int, rng: random.Random) -> list[str]:
    """Whole prefixes drawn by ``rng`` until they hold at least ``sample_bytes`` (every prefix when the
    bucket holds less), in name order."""
    order = sorted(sizes)
    rng.shuffle(order)
    picked, total = [], 0
    for name in order:
        if total >= sample_bytes:
            break
        picked.append(name)
        total += sizes[name]
    return sorted(picked)


def estimate_seconds(total_objects: int, total_bytes: int, objects: int, size: int, seconds: float) -> float:
    """Time to restore ``total_objects`` / ``total_bytes`` at the rates of a copy of ``objects`` / ``size``
    in ``seconds``: the longer of the two scalings (a sample of large objects says little about the cost
    per object of a bucket of small ones, and the other way round)."""
    if objects < 1:
        raise ValueError("no object was restored: nothing to scale")
    by_objects = total_objects / objects
    by_bytes = total_bytes / size if size else 0.0
    return seconds * max(by_objects, by_bytes)


def run_folder(host: str, bucket: str, now: datetime) -> str:
    """The scratch folder of one run: host, bucket and time, in characters safe in a key."""
    safe_host = re.sub(r"[^A-Za-z0-9._-]", "_", host)[:63] or "host"
    return f"{safe_host}-{bucket}-{now.strftime('%Y%m%dT%H%M%SZ')}"


def refuse_scratch(config, bucket: str) -> str:
    scratch = config.rehearsal_bucket
    if scratch in config.buckets or scratch == bucket:
        raise ConfigError(f"BACKUP_REHEARSAL_BUCKET {scratch!r} is a backed-up bucket; refused: the rehearsal "
                          "writes and deletes there (name a bucket of its own, e.g. dream-backup-rehearsal)")
    if scratch == config.target_bucket and config.source.url == config.target.url:
        raise ConfigError(f"BACKUP_REHEARSAL_BUCKET {scratch!r} is the backup's target bucket; refused")
    return scratch


def check_scratch_empty(engine, scratch: str) -> bool:
    """Whether the scratch bucket exists; ConfigError when it holds any object."""
    if not engine.bucket_exists(SOURCE, scratch):
        return False
    found, first = 0, None
    for obj in engine.scan(Location(SOURCE, scratch)):
        found += 1
        first = first or obj.key
        if found >= 1000:
            break
    if found:
        more = "+" if found >= 1000 else ""
        raise ConfigError(f"scratch bucket {scratch} holds {found}{more} objects this run did not write "
                          f"(first: {first!r}); refused, nothing was written or deleted. Empty it after "
                          "checking what they are (an earlier rehearsal that could not clean up names "
                          "itself <host>-<bucket>-<time>/)")
    return True


def empty_folder(engine, loc: Location, exc: EngineError) -> bool:
    """Whether a failed listing of ``loc`` only met a folder without objects (rclone reports that as a
    directory that does not exist) in a bucket that does exist."""
    return "does not exist" in str(exc) and bool(loc.path) and engine.bucket_exists(loc.side, loc.bucket)


def list_folder(engine, loc: Location) -> dict:
    try:
        return engine.list(loc)
    except EngineError as exc:
        if empty_folder(engine, loc, exc):
            return {}
        raise


def survey(engine, src: Location) -> tuple[dict[str, int], int, int]:
    """Bytes per top-level prefix of the backup listing, and its object count and bytes (one listing
    streamed; memory grows with the number of prefixes, not of objects)."""
    sizes: dict[str, int] = {}
    objects = total = 0
    try:
        for obj in engine.scan(src):
            name = top_level(obj.key)
            sizes[name] = sizes.get(name, 0) + obj.size
            objects += 1
            total += obj.size
    except EngineError as exc:
        if not empty_folder(engine, src, exc):
            raise
    return sizes, objects, total


def sample_versions(engine, src: Location, prefixes: list[str]) -> dict[str, Version]:
    wanted = set(prefixes)
    return {o.key: Version(o.key, "", o.mtime, o.size, o.md5, latest=True)
            for o in engine.scan(src) if top_level(o.key) in wanted}


def verify(engine, dst: Location, src: Location, chosen: dict[str, Version]) -> dict[str, str]:
    """Why each restored object is not its backup copy: missing, another size, an MD5 other than the one
    the backup recorded when it was written (bytes the off-site server serves damaged without noticing
    are copied faithfully, so only that record tells), or a sha256 other than the backup copy's."""
    restored = engine.list(dst)
    failures = {}
    for key, version in chosen.items():
        reason = differs(version.as_obj(), restored.get(key))
        if reason:
            failures[key] = {"missing": "not restored",
                             "MD5 differs": "MD5 differs from the one the backup recorded"}.get(reason, reason)

    def compare(key: str) -> tuple[str, str | None]:
        restored_copy, backup_copy = engine.sha256_both(dst, src, key, chosen[key].size)
        for got, side in ((restored_copy, "restored copy"), (backup_copy, "backup copy")):
            if isinstance(got, EngineError):
                return key, f"reading the {side} failed: {got}"
        return key, None if restored_copy == backup_copy else "sha256 differs"

    with ThreadPoolExecutor(max_workers=READERS) as pool:
        for key, reason in pool.map(compare, sorted(k for k in chosen if k not in failures)):
            if reason:
                failures[key] = reason
    return failures


def changed_in_backup(engine, src: Location, chosen: dict[str, Version], keys) -> set[str]:
    """Of ``keys``, those whose backup copy changed since the sample was listed (a backup ran meanwhile):
    their restored copy is older, not wrong."""
    now = {k: v for k, v in sample_versions(engine, src, sorted({top_level(k) for k in keys})).items()}
    return {k for k in keys if k in chosen and (k not in now or (now[k].size, now[k].mtime) !=
                                                (chosen[k].size, chosen[k].mtime))}


def remove_written(engine, dst: Location, chosen: dict[str, Version], timeout: float) -> tuple[int, list[str]]:
    """Deletes the sampled keys found in this run's folder (what this run wrote), then lists the folder
    again: (objects removed, keys of this run still there)."""
    present = list_folder(engine, dst) if chosen else {}
    written = sorted(k for k in present if k in chosen)
    if written:
        engine.delete_keys(dst, written, timeout)
    left = sorted(k for k in list_folder(engine, dst) if k in chosen) if written else []
    return len(written) - len(left), left


def clean_up(engine, dst: Location, chosen: dict[str, Version], timeout: float, result: dict) -> str | None:
    """Removes what this run wrote (recorded in ``result``); why that is incomplete, or None."""
    try:
        result["removed"], left = remove_written(engine, dst, chosen, timeout)
    except EngineError as exc:
        result["cleanup"] = f"removing the restored objects from {dst.join()}/ failed: {exc}"
        return result["cleanup"]
    if not left:
        return None
    result["left_in_scratch"] = [f"{dst.path}/{k}" for k in left[:SHOWN]]
    result["cleanup"] = f"{len(left)} restored objects could not be removed from {dst.join()}/ (first: {left[0]})"
    return result["cleanup"]


def run(ctx, args) -> int:
    config = ctx.config
    check_logbook(config.drill_log)
    scratch = refuse_scratch(config, args.bucket)
    with lock.hold(config.lock_file + LOCK_SUFFIX):
        engine = ctx.engine()
        refuse_carried_lock(engine, config, "a restore rehearsal")
        existed = check_scratch_empty(engine, scratch)
        return rehearse(ctx, engine, args, scratch, existed)


def rehearse(ctx, engine, args, scratch: str, existed: bool) -> int:
    config, log = ctx.config, ctx.log
    started_at = datetime.now(UTC)
    host = socket.gethostname()
    src = Location(BACKUP, config.target_bucket, config.backup_path(args.bucket))
    dst = Location(SOURCE, scratch, run_folder(host, args.bucket, started_at))
    result = {"ts": utc_now(), "kind": "rehearsal", "host": host, "bucket": args.bucket, "engine": config.engine,
              "verdict": "fail", "seed": args.seed, "sample_bytes_asked": args.sample_bytes,
              "backup": f"backup/{src.join()}", "scratch": f"{scratch}/{dst.path}/",
              "objects": 0, "bytes": 0, "prefixes": 0, "copy_seconds": None, "objects_per_second": None,
              "bytes_per_second": None, "backup_objects": None, "backup_bytes": None,
              "estimated_restore_seconds": None, "rto_budget_seconds": config.rto_budget_hours * 3600,
              "within_budget": None, "verified": 0, "failed": 0, "failures": [], "removed": 0}
    log.info(STARTING, bucket=args.bucket, scratch=result["scratch"], sample_bytes=args.sample_bytes)
    begun = time.monotonic()
    chosen: dict[str, Version] = {}
    copying = False  # from the copy on, this run may have written into its folder
    try:
        try:
            sizes, backup_objects, backup_bytes = survey(engine, src)
            result.update(backup_objects=backup_objects, backup_bytes=backup_bytes)
            if not backup_objects:
                raise EngineError(f"nothing to rehearse: backup/{src.join()} holds no objects")
            prefixes = choose_prefixes(sizes, args.sample_bytes, random.Random(args.seed))
            chosen = sample_versions(engine, src, prefixes)
            result.update(prefixes=len(prefixes), sampled_prefixes=prefixes[:SHOWN], objects=len(chosen),
                          bytes=sum(v.size for v in chosen.values()))
            if not chosen:
                raise EngineError(f"the sampled prefixes of backup/{src.join()} vanished while listed")
            if not existed:
                engine.make_bucket(SOURCE, scratch)
            copying = True
            copy_begun = time.monotonic()
            copied = engine.copy_versions(src, dst, chosen, None, config.timeout)
            seconds = max(time.monotonic() - copy_begun, 1e-3)
            if copied.errors:
                raise EngineError(f"restoring into {scratch} failed for {len(copied.errors)} objects "
                                  f"(first: {copied.errors[0]})")
            result.update(copy_seconds=round(seconds, 3), objects_per_second=round(len(chosen) / seconds, 3),
                          bytes_per_second=round(result["bytes"] / seconds, 3),
                          estimated_restore_seconds=round(estimate_seconds(
                              backup_objects, backup_bytes, len(chosen), result["bytes"], seconds), 3))
            result["within_budget"] = result["estimated_restore_seconds"] <= result["rto_budget_seconds"]
            failures = verify(engine, dst, src, chosen)
            changed = changed_in_backup(engine, src, chosen, failures) if failures else set()
            failures = {k: r for k, r in failures.items() if k not in changed}
            result.update(verified=len(chosen) - len(failures) - len(changed), changed_during_run=len(changed),
                          failed=len(failures),
                          failures=[f"{k}: {r}" for k, r in sorted(failures.items())][:SHOWN])
            if failures:
                raise EngineError(f"{len(failures)} restored objects differ from their backup copy "
                                  f"(first: {result['failures'][0]})")
        finally:
            cleanup = clean_up(engine, dst, chosen, config.timeout, result) if copying else None
        if cleanup:
            raise EngineError(cleanup)
        result["verdict"] = "pass"
    except EngineError as exc:
        result["reason"] = str(exc)
        if cleanup_failure := result.get("cleanup"):
            result["reason"] += f"; {cleanup_failure}" if cleanup_failure not in result["reason"] else ""
    result["seconds"] = round(time.monotonic() - begun, 3)
    return finish(ctx, args, result)


def finish(ctx, args, result: dict) -> int:
    config, passed = ctx.config, result["verdict"] == "pass"
    with os.fdopen(safe_open.open_append(config.drill_log, "drill logbook"), "a", encoding="utf-8") as logbook:
        logbook.write(json_line(ctx.scrub(json.dumps(result, ensure_ascii=False))) + "\n")
    if passed:
        ctx.log.info(COMPLETED, bucket=args.bucket, results=result)
    else:
        ctx.log.error(FAILED, bucket=args.bucket, reason=result["reason"], results=result)
    if passed and config.metrics_file:
        metrics.update(config.metrics_file, {
            (facts.REHEARSAL_LAST_SUCCESS, args.bucket): time.time(),
            (facts.REHEARSAL_RATE, args.bucket): float(result["bytes_per_second"]),
            (facts.ESTIMATED_RESTORE, args.bucket): float(result["estimated_restore_seconds"]),
            (facts.RTO_BUDGET, args.bucket): result["rto_budget_seconds"],
        })
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        print_report(result)
    return EXIT_OK if passed else EXIT_FAILURE


def duration(seconds) -> str:
    if seconds is None:
        return "-"
    hours, rest = divmod(round(seconds), 3600)
    return f"{hours}h{rest // 60:02d}m{rest % 60:02d}s"


def print_report(result: dict) -> None:
    rate = result["bytes_per_second"]
    print(table(["bucket", "prefixes", "objects", "bytes", "copy", "objects/s", "bytes/s", "whole bucket",
                 "estimated restore", "budget", "verdict"],
                [[result["bucket"], str(result["prefixes"]), str(result["objects"]), human_bytes(result["bytes"]),
                  duration(result["copy_seconds"]), str(result["objects_per_second"] or "-"),
                  human_bytes(int(rate)) + "/s" if rate else "-",
                  f"{result['backup_objects'] or 0} objects, {human_bytes(result['backup_bytes'] or 0)}",
                  duration(result["estimated_restore_seconds"]), duration(result["rto_budget_seconds"]),
                  result["verdict"]]]))
    print(one_line(f"{FAILED}: {result['reason']}") if result["verdict"] != "pass" else
          f"{COMPLETED}: {result['verified']} objects verified by sha256 and removed from {result['scratch']}")
    if result["within_budget"] is False:
        print("The estimate exceeds the restore time budget (BACKUP_RTO_BUDGET_HOURS): see docs/rehearsal.md")
