"""`dream-backup drill`: prove the backup is readable (the runbook's quarterly "Restore Drill"; docs/architecture.md).

Per bucket both sides are listed; samples are drawn from keys present on both sides, streamed from the
backup and from production (size + sha256, never ETags) and compared. A sample whose production copy
is newer than its backup copy is `stale` (the next backup will copy it; not a failure); any other
difference is `corrupt`; a sample that vanished while the drill ran is `missing`. Each bucket also
records `restorable_since`: the oldest version's time in its backup, the earliest point a restore
--as-of can reach. One record per drill is appended to RESTORE_DRILL_LOG, the operations logbook."""

from __future__ import annotations

import json
import os
import random
import socket
import time
from concurrent.futures import ThreadPoolExecutor

from dream_backup import facts, metrics, pointintime, safe_open
from dream_backup.commands.backup import list_both, mirror_locations
from dream_backup.errors import EXIT_FAILURE, EXIT_OK, ConfigError, EngineError
from dream_backup.log import json_line, utc_now
from dream_backup.report import human_bytes, json_text, one_line, table


def check_logbook(path: str) -> None:
    os.close(safe_open.open_append(path, "drill logbook"))


def gone_or_raise(engine, loc, key, got):
    """A read's (sha256, size), or None when the object is gone (a failed read of a key still listed is
    raised)."""
    if not isinstance(got, EngineError):
        return got
    if not any(obj.key == key for obj in engine.scan(loc)):
        return None
    raise got


def pick_samples(source: dict, backup: dict, rng: random.Random, samples: int, max_size: int) -> list[str]:
    """Up to ``samples`` keys listed on both sides whose source copy is at most ``max_size`` bytes, drawn
    by ``rng`` (one seed, one choice), in key order."""
    eligible = [k for k in sorted(set(source) & set(backup)) if source[k].size <= max_size]
    return sorted(rng.sample(eligible, min(samples, len(eligible))))


def read_pair(engine, src, dst, bucket: str, key: str, size: int) -> dict:
    """Both copies of ``key`` streamed at once (about as long as reading the larger side; one sha256 while
    they agree) and compared: the record's verdict is `match`, `missing` (vanished while read) or
    `differs` until settle() decides."""
    record = {"bucket": bucket, "key": key, "size": size, "sha256_backup": None, "sha256_source": None}
    read_backup, read_source = engine.sha256_both(dst, src, key, size)
    got_backup = gone_or_raise(engine, dst, key, read_backup)
    got_source = gone_or_raise(engine, src, key, read_source)
    if got_backup is None or got_source is None:
        record["verdict"] = "missing"
        record["note"] = "vanished from the " + ("backup" if got_backup is None else "source") + \
            " while it was read"
        return record
    record["sha256_backup"], record["size"] = got_backup
    record["sha256_source"], source_size = got_source
    record["verdict"] = "match" if got_backup == got_source else "differs"
    if got_backup != got_source:
        record["source_size"] = source_size
    return record


def settle(record: dict, backup_obj, source_now) -> None:
    """A `differs` record becomes `stale` when production's copy (as listed now) is newer than the backup
    copy (the next backup copies it; not a failure), else `corrupt`."""
    if record["verdict"] != "differs":
        return
    newer = bool(source_now and source_now.mtime and backup_obj.mtime and source_now.mtime > backup_obj.mtime)
    record["verdict"] = "stale" if newer else "corrupt"


def drill_bucket(engine, config, bucket: str, rng: random.Random, samples: int, max_size: int):
    src, dst = mirror_locations(config, bucket)
    # The backup's oldest version is listed while the samples are read (a listing waits on the network,
    # the reads on the disks and one core).
    with ThreadPoolExecutor(max_workers=1) as background:
        since = background.submit(restorable_since, engine, dst)
        summary, objects = drill_samples(engine, bucket, src, dst, rng, samples, max_size)
        summary["restorable_since"] = since.result()
    return summary, objects


def drill_samples(engine, bucket: str, src, dst, rng: random.Random, samples: int, max_size: int):
    summary = {"bucket": bucket, "verdict": "pass", "note": None}
    source, backup = list_both(engine, src, dst)
    summary.update(source_objects=len(source), backup_objects=len(backup),
                   only_in_backup=len(set(backup) - set(source)), only_in_source=len(set(source) - set(backup)))
    objects = []
    if not source:
        summary["note"] = "source bucket is empty: nothing to prove"
    elif not backup:
        summary.update(verdict="fail", note=f"source has {len(source)} objects but the backup has none")
    picked = pick_samples(source, backup, rng, samples, max_size)
    summary["samples"] = len(picked)
    fresh_source = None
    for key in picked:
        record = read_pair(engine, src, dst, bucket, key, backup[key].size)
        if record["verdict"] == "differs":
            fresh_source = fresh_source if fresh_source is not None else engine.list(src)
            settle(record, backup[key], fresh_source.get(key))
        objects.append(record)
    if any(o["verdict"] in ("corrupt", "missing") for o in objects):
        summary["verdict"] = "fail"
    return summary, objects


def restorable_since(engine, backup_loc) -> str | None:
    """The oldest version's time in the bucket's backup (None: no version, or the listing failed)."""
    try:
        histories = engine.list_versions(backup_loc)
    except EngineError:
        return None
    oldest = min((v.mtime for h in histories.values() for v in h if v.mtime and not v.delete_marker), default=None)
    return pointintime.stamp(oldest) if oldest else None


def run(ctx, args) -> int:
    config = ctx.config
    check_logbook(config.drill_log)
    if args.samples < 1 or args.max_size < 1:
        raise ConfigError("--samples and --max-size must be at least 1")
    engine = ctx.engine()
    rng = random.Random(args.seed)
    started = time.monotonic()
    buckets, objects = [], []
    for bucket in args.bucket or list(config.buckets):
        try:
            summary, sampled = drill_bucket(engine, config, bucket, rng, args.samples, args.max_size)
        except EngineError as exc:
            summary, sampled = {"bucket": bucket, "verdict": "fail", "note": str(exc), "samples": 0}, []
        buckets.append(summary)
        objects += sampled
    verdict = "pass" if all(b["verdict"] == "pass" for b in buckets) else "fail"
    document = {
        "ts": utc_now(), "host": socket.gethostname(), "verdict": verdict, "engine": config.engine,
        "seed": args.seed, "seconds": round(time.monotonic() - started, 3),
        "target": f"{config.target_bucket}/{config.target_prefix}".rstrip("/"),
        "buckets": buckets, "objects": objects,
    }
    with os.fdopen(safe_open.open_append(config.drill_log, "drill logbook"), "a", encoding="utf-8") as logbook:
        logbook.write(json_line(ctx.scrub(json.dumps(document, ensure_ascii=False))) + "\n")
    failing = [f"{o['bucket']}/{o['key']} {o['verdict']}" for o in objects if o["verdict"] in ("corrupt", "missing")]
    level = ctx.log.info if verdict == "pass" else ctx.log.error
    level("Drill completed" if verdict == "pass" else "Drill failed", verdict=verdict,
          reason="; ".join(failing + [f"{b['bucket']}: {b['note']}" for b in buckets
                                      if b["verdict"] == "fail" and b.get("note")]) or None,
          results={b["bucket"]: b["verdict"] for b in buckets})
    if config.metrics_file:
        # Every drilled bucket gets its verdict, so a failed drill can alert at once; only a pass moves
        # the time of the last pass.
        now = time.time()
        samples = {(facts.DRILL_SUCCESS, b["bucket"]): int(b["verdict"] == "pass") for b in buckets}
        samples.update({(facts.DRILL_LAST_SUCCESS, b["bucket"]): now
                        for b in buckets if b["verdict"] == "pass"})
        metrics.update(config.metrics_file, samples)
    if args.json:
        print(json_text(document))
    else:
        print_report(document)
    return EXIT_OK if verdict == "pass" else EXIT_FAILURE


def print_report(document: dict) -> None:
    rows = [[o["bucket"], o["key"], human_bytes(o["size"]), (o["sha256_backup"] or "-")[:16],
             (o["sha256_source"] or "-")[:16], o["verdict"]] for o in document["objects"]]
    print(table(["bucket", "key", "size", "sha256 backup", "sha256 source", "verdict"], rows))
    for b in document["buckets"]:
        note = f" — {b['note']}" if b.get("note") else ""
        print(one_line(f"{b['bucket']}: {b['verdict']}, {b.get('samples', 0)} samples, "
                       f"{b.get('only_in_backup', 0)} only in backup, {b.get('only_in_source', 0)} only in source, "
                       f"restorable since {b.get('restorable_since') or '-'}{note}"))
    print(f"Drill verdict: {document['verdict']} (logbook record appended)")
