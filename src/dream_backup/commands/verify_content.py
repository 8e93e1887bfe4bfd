"""`dream-backup verify-content [--bucket B] [--slice N/M]`: every object's content, checked over a cycle.

The backup verifies sizes and MD5s from listings; the drill reads a few samples. This reads both copies
of every object in slice N of M (sha256, streamed, a few objects at once) and compares them, with the
drill's rules: a production copy newer than the backup copy is `stale` (not a failure), any other
difference `corrupt`, a copy that vanished while read `missing`.

Slices partition the keys by a hash of the key alone, so slices 1..M together cover every object exactly
once, and a key stays in its slice as the bucket grows. Without --slice, N follows the day: run daily,
every object is read once per M days (BACKUP_VERIFY_SLICES, default 30).

Metrics per bucket: dream_backup_content_verified_objects (objects of the slice whose two copies were
read and compared), dream_backup_content_corrupt_objects (of those, `corrupt` or `missing`), and
dream_backup_content_last_full_cycle_timestamp_seconds: the time a run of the cycle's last slice (M of
M) ended with no corrupt or missing object. It is the end of a full cycle when slices 1..M-1 ran before
it (the daily rotation runs them on the days before); an alert on it older than M+1 days catches a
rotation that stopped or a last slice that failed."""

from __future__ import annotations

import hashlib
import time
from concurrent.futures import ThreadPoolExecutor

from dream_backup import facts, metrics
from dream_backup.commands.backup import mirror_locations, spool_both
from dream_backup.commands.drill import read_pair, settle
from dream_backup.errors import EXIT_FAILURE, EXIT_OK, ConfigError, EngineError
from dream_backup.listing import Listing, only_in, pairs
from dream_backup.report import json_text, say, table

STARTING = "Starting content verification"
COMPLETED = "Completed content verification"
FAILED = "Content verification failed"
READERS = 4  # objects read at once (each streams both copies)
FAILING = ("corrupt", "missing")


def slice_of(key: str, slices: int) -> int:
    """The slice (1..slices) that ``key`` belongs to: stable, and independent of every other key."""
    return int(hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:8], 16) % slices + 1


def parse_slice(text: str) -> tuple[int, int]:
    number, sep, total = text.partition("/")
    if not (sep and number.isdigit() and total.isdigit() and 1 <= int(number) <= int(total)):
        raise ConfigError(f"--slice must be N/M with 1 <= N <= M (got {text!r})")
    return int(number), int(total)


def todays_slice(slices: int, now: float | None = None) -> int:
    """Day number since the epoch (UTC), modulo ``slices``, plus one."""
    return int((time.time() if now is None else now) // 86400) % slices + 1


def verify_bucket(engine, config, bucket: str, number: int, slices: int) -> tuple[dict, list[dict]]:
    src, dst = mirror_locations(config, bucket)
    summary = {"bucket": bucket, "verdict": "pass", "verified": 0, "match": 0, "stale": 0, "corrupt": 0,
               "missing": 0, "only_in_source": 0, "only_in_backup": 0}
    findings: list[dict] = []
    spooled: list[Listing] = []
    try:
        with ThreadPoolExecutor(max_workers=2) as listers:
            futures = spool_both(listers, engine, config, bucket)
        for future in futures:
            if future.exception() is None:
                spooled.append(future.result())
        source, backup = (future.result() for future in futures)
        differing: list[tuple[dict, object]] = []

        def tally(record: dict, backup_entry) -> None:
            summary["verified"] += 1
            if record["verdict"] == "differs":
                differing.append((record, backup_entry))
            else:
                summary[record["verdict"]] += 1
                if record["verdict"] != "match":
                    findings.append(record)

        with ThreadPoolExecutor(max_workers=READERS) as readers:
            pending = []
            for key, _, backup_entry in pairs(source, backup):
                if slice_of(key, slices) != number:
                    continue
                if backup_entry is None:
                    summary["only_in_source"] += 1
                    continue
                pending.append((readers.submit(read_pair, engine, src, dst, bucket, key, backup_entry.size),
                                backup_entry))
                if len(pending) >= 4 * READERS:  # bounded: the listing is never read far ahead
                    for future, entry in pending:
                        tally(future.result(), entry)
                    pending.clear()
            for future, entry in pending:
                tally(future.result(), entry)
        summary["only_in_backup"] = sum(1 for key in only_in(backup, source) if slice_of(key, slices) == number)
        if differing:
            # Production as it is now decides stale or corrupt (the drill's rule).
            now = Listing.spool(engine, src, f"{bucket}.now")
            spooled.append(now)
            for record, backup_entry in differing:
                settle(record, backup_entry, now.get(record["key"]))
                summary[record["verdict"]] += 1
                findings.append(record)
    finally:
        for listing in spooled:
            listing.remove()
    if summary["corrupt"] or summary["missing"]:
        summary["verdict"] = "fail"
    return summary, findings


def run(ctx, args) -> int:
    config, log = ctx.config, ctx.log
    slices = config.verify_slices
    if args.slice:
        number, slices = parse_slice(args.slice)
    else:
        number = todays_slice(slices)
    buckets = args.bucket or list(config.buckets)
    engine = ctx.engine()
    started = time.monotonic()
    log.info(STARTING, buckets=buckets, slice=f"{number}/{slices}")
    results, findings = [], []
    for bucket in buckets:
        try:
            summary, found = verify_bucket(engine, config, bucket, number, slices)
        except EngineError as exc:
            summary, found = {"bucket": bucket, "verdict": "fail", "note": str(exc)}, []
        results.append(summary)
        findings += found
    verdict = "pass" if all(r["verdict"] == "pass" for r in results) else "fail"
    document = {"verdict": verdict, "slice": f"{number}/{slices}", "seconds": round(time.monotonic() - started, 3),
                "buckets": results, "objects": findings}
    write_metrics(config.metrics_file, results, number, slices)
    counts = {r["bucket"]: {k: r[k] for k in ("verified", "match", "stale", "corrupt", "missing") if k in r}
              for r in results}
    if verdict == "pass":
        log.info(COMPLETED, slice=f"{number}/{slices}", results=counts)
    else:
        failing = [f"{o['bucket']}/{o['key']} {o['verdict']}" for o in findings if o["verdict"] in FAILING]
        failing += [f"{r['bucket']}: {r['note']}" for r in results if r.get("note")]
        log.error(FAILED, slice=f"{number}/{slices}", reason="; ".join(failing), results=counts)
    if args.json:
        print(json_text(document))
    else:
        print_report(document)
    return EXIT_OK if verdict == "pass" else EXIT_FAILURE


def write_metrics(path: str, results: list[dict], number: int, slices: int) -> None:
    if not path:
        return
    now = time.time()
    samples: dict[tuple[str, str], float] = {}
    for r in results:
        if "verified" not in r:
            continue  # the bucket could not be listed: no count to report
        samples[(facts.CONTENT_VERIFIED, r["bucket"])] = r["verified"]
        samples[(facts.CONTENT_CORRUPT, r["bucket"])] = r["corrupt"] + r["missing"]
        if number == slices and r["verdict"] == "pass":
            samples[(facts.CONTENT_LAST_FULL_CYCLE, r["bucket"])] = now
    if samples:
        metrics.update(path, samples)


def print_report(document: dict) -> None:
    if document["objects"]:
        print(table(["bucket", "key", "sha256 backup", "sha256 source", "verdict"],
                    [[o["bucket"], o["key"], (o["sha256_backup"] or "-")[:16], (o["sha256_source"] or "-")[:16],
                      o["verdict"]] for o in document["objects"]]))
    for r in document["buckets"]:
        if "note" in r:
            say(f"{r['bucket']}: fail — {r['note']}")
            continue
        print(f"{r['bucket']}: {r['verdict']}, {r['verified']} compared ({r['match']} match, {r['stale']} stale, "
              f"{r['corrupt']} corrupt, {r['missing']} missing), {r['only_in_source']} only in source, "
              f"{r['only_in_backup']} only in backup")
    print(f"Content verification of slice {document['slice']}: {document['verdict']}")
