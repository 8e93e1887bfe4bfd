"""`dream-backup restore --bucket B [--prefix P] [--to-bucket X] [--overwrite] [--dry-run] [--json]`

Copies `<target bucket>/[<prefix>/]B/P` from the backup to production bucket B (or X, created when
missing) under the same keys. Safe by default: objects present at the destination are never replaced
without --overwrite, and nothing in production is ever deleted. Restoring `trash` in place needs
--allow-trash-in-place. Every restored object is verified afterwards (key and size against the backup
listing; with --verify-content also sha256 of both copies, streamed)."""

from __future__ import annotations

import json
import time

from dream_backup import lock, verify
from dream_backup.engines.base import BACKUP, SOURCE, Location
from dream_backup.errors import EXIT_FAILURE, EXIT_OK, ConfigError, EngineError
from dream_backup.report import human_bytes, one_line, table

STARTING_RESTORE = "Starting restore"
COMPLETED_RESTORE = "Completed restore"
RESTORE_FAILED = "Restore failed"
TRASH = "trash"


def locations(config, args) -> tuple[Location, Location]:
    prefix = (args.prefix or "").strip("/")
    source = Location(BACKUP, config.target_bucket, config.backup_path(args.bucket, prefix))
    return source, Location(SOURCE, args.to_bucket or args.bucket, prefix)


def refuse_unsafe(args) -> None:
    if args.bucket == TRASH and not args.to_bucket and not args.allow_trash_in_place:
        raise ConfigError("refusing to restore 'trash' in place: it would bring back objects that were purged "
                          "on purpose (approved retention overrides). Restore into --to-bucket, or add "
                          "--allow-trash-in-place when compliance approved it")


def plan(backup: dict, production: dict, overwrite: bool) -> tuple[list[str], list[str], list[str]]:
    """(to copy, present and identical, present but different and left alone)."""
    missing, same, different = [], [], []
    for key, obj in sorted(backup.items()):
        have = production.get(key)
        if have is None:
            missing.append(key)
        elif verify.differs(obj, have):
            different.append(key)
        else:
            same.append(key)
    if overwrite:
        return missing + different, same, []
    return missing, same, different


def run(ctx, args) -> int:
    config = ctx.config
    refuse_unsafe(args)
    engine = ctx.engine()
    src, dst = locations(ctx.config, args)
    where = f"backup/{src.join()} -> {'production' if not args.to_bucket else 'new'} bucket {dst.join()}"
    if not args.to_bucket and not args.json:
        print(f"Restoring {where} in place: objects present in production are "
              f"{'replaced when they differ' if args.overwrite else 'left alone'}; nothing is deleted.")
    if args.dry_run:
        return dry_run(ctx, engine, src, dst, args, where)
    with lock.hold(config.lock_file):
        return restore(ctx, engine, src, dst, args, where)


def full_key(loc: Location, key: str) -> str:
    """The key in the bucket (listings are relative to the restored prefix)."""
    return f"{loc.path}/{key}" if loc.path else key


def list_destination(engine, dst: Location) -> dict:
    if not engine.bucket_exists(SOURCE, dst.bucket):
        return {}
    return engine.list(dst)


def dry_run(ctx, engine, src, dst, args, where) -> int:
    backup = engine.list(src)
    copy, same, different = plan(backup, list_destination(engine, dst), args.overwrite)
    document = {"dry_run": True, "restore": where, "would_restore": len(copy),
                "bytes": sum(backup[k].size for k in copy), "present": len(same) + len(different),
                "keys": [full_key(dst, k) for k in copy[:50]]}
    print(json.dumps(document, indent=2) if args.json else
          f"Dry run: would restore {len(copy)} objects ({human_bytes(document['bytes'])}), "
          f"{document['present']} present at the destination are left alone. First keys: "
          + (", ".join(document["keys"][:10]) or "-"))
    return EXIT_OK


def restore(ctx, engine, src, dst, args, where) -> int:
    log = ctx.log
    started = time.monotonic()
    log.info(STARTING_RESTORE, bucket=args.bucket, restore=where)
    result = {"restore": where, "restored": 0, "bytes": 0, "skipped_present": 0, "failed": 0,
              "failures": [], "verified_content": bool(args.verify_content)}
    try:
        backup = engine.list(src)
        if not backup:
            raise EngineError(f"nothing to restore: backup/{src.join()} holds no objects")
        if not engine.bucket_exists(SOURCE, dst.bucket):
            engine.make_bucket(SOURCE, dst.bucket)
            production = {}
        else:
            production = engine.list(dst)
        copy, same, different = plan(backup, production, args.overwrite)
        if copy:
            copied = engine.copy(src, dst, remove=False, overwrite=args.overwrite, timeout=ctx.config.timeout)
            if copied.errors:
                raise EngineError(copied.errors[0])
            production = engine.list(dst)
        failures = {k: r for k in copy if (r := verify.differs(backup[k], production.get(k)))}
        if args.verify_content:
            for key in copy:
                if key not in failures and engine.sha256(src, key) != engine.sha256(dst, key):
                    failures[key] = "sha256 differs"
        result.update(restored=len(copy) - len(failures), bytes=sum(backup[k].size for k in copy),
                      skipped_present=len(same) + len(different), failed=len(failures),
                      failures=[f"{full_key(dst, k)}: {r}" for k, r in sorted(failures.items())][:50],
                      skipped_different=[full_key(dst, k) for k in different[:50]])
        if failures:
            raise EngineError(f"verification failed for {len(failures)} restored objects "
                              f"(first: {result['failures'][0]})")
    except EngineError as exc:
        result["reason"] = str(exc)
    result["seconds"] = round(time.monotonic() - started, 3)
    if "reason" in result:
        log.error(RESTORE_FAILED, bucket=args.bucket, reason=result["reason"], results=result)
    else:
        log.info(COMPLETED_RESTORE, bucket=args.bucket, results=result)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(table(["restore", "restored", "bytes", "skipped (present)", "failed"],
                    [[where, str(result["restored"]), human_bytes(result["bytes"]),
                      str(result["skipped_present"]), str(result["failed"])]]))
        print(one_line(f"{RESTORE_FAILED}: {result['reason']}") if "reason" in result else COMPLETED_RESTORE)
    return EXIT_FAILURE if "reason" in result else EXIT_OK
