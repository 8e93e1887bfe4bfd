"""`dream-backup restore --bucket B [--prefix P] [--to-bucket X] [--overwrite] [--dry-run] [--json]`

Copies `<target bucket>/[<prefix>/]B/P` from the backup to production bucket B (or X, created when
missing) under the same keys. Safe by default: objects present at the destination are never replaced
without --overwrite, and nothing in production is ever deleted. Restoring `trash` in place needs
--allow-trash-in-place. Every restored object is verified afterwards (key and size against the backup
listing; with --verify-content also sha256 of both copies, streamed).

With --as-of T every key is restored as it was at T: its newest backup version not later than T (keys
deleted or not yet created at T are left out), and verification compares with that version. With
--version-id ID and a --prefix naming one key, exactly that version is restored. Only the objects the
plan names are copied, one by one (mc's mirror would skip a same-size object that is newer at the
destination, such as a damaged production copy)."""

from __future__ import annotations

import json
import time

from dream_backup import lock, pointintime, verify
from dream_backup.commands.trash_report import TRASH_BUCKET
from dream_backup.engines.base import BACKUP, SOURCE, Location
from dream_backup.engines.history import Version
from dream_backup.errors import EXIT_FAILURE, EXIT_OK, ConfigError, EngineError
from dream_backup.report import human_bytes, one_line, table

STARTING_RESTORE = "Starting restore"
COMPLETED_RESTORE = "Completed restore"
RESTORE_FAILED = "Restore failed"


def restore_locations(config, args) -> tuple[Location, Location]:
    """Where the restore reads (the bucket's backup, below --prefix) and where it writes."""
    prefix = (args.prefix or "").strip("/")
    if getattr(args, "version_id", None):  # one key: list its folder, restore that key alone
        prefix = prefix.rpartition("/")[0]
    source = Location(BACKUP, config.target_bucket, config.backup_path(args.bucket, prefix))
    return source, Location(SOURCE, args.to_bucket or args.bucket, prefix)


def point_in_time(args):
    """The --as-of time (UTC), checked with --version-id before anything is touched."""
    as_of, version_id = getattr(args, "as_of", None), getattr(args, "version_id", None)
    if as_of is not None and version_id:
        raise ConfigError("--as-of and --version-id exclude each other: a version id names one point already")
    if version_id and (not args.prefix or args.prefix.endswith("/")):
        raise ConfigError("--version-id needs --prefix naming exactly one key (e.g. book-001/config.json)")
    return pointintime.parse(as_of) if as_of is not None else None


def choose(engine, src: Location, args, when) -> tuple[dict[str, Version], object]:
    """The version to restore per key (relative to src), and the time the engine copies them as of
    (None: the current objects)."""
    if getattr(args, "version_id", None):
        key = args.prefix.strip("/").rpartition("/")[2]
        history = engine.list_versions(src).get(key, [])
        found = [v for v in history if v.version_id == args.version_id]
        if not found or found[0].delete_marker:
            what = "a delete marker" if found else "not in the backup"
            raise ConfigError(f"version {args.version_id!r} of {args.prefix.strip('/')} is {what} "
                              f"(dream-backup versions --bucket {args.bucket} --prefix {args.prefix} lists them)")
        version = found[0]
        if not getattr(engine, "copies_by_version_id", False):
            # This engine copies "as of the version's time": that must still be this version.
            at_then = engine.state_at(src, version.mtime).get(key)
            if at_then is None or at_then.size != version.size or at_then.mtime != version.mtime:
                raise EngineError(f"version {version.version_id} of {key} shares its second with a newer "
                                  f"version; the {engine.name} engine cannot address it alone")
        return {key: version}, version.mtime
    if when is not None:
        return engine.state_at(src, when), when
    return {k: Version(k, "", o.mtime, o.size, o.md5, latest=True) for k, o in engine.list(src).items()}, None


def describe(when, args) -> str:
    if getattr(args, "version_id", None):
        return f" (version {args.version_id})"
    return f" as of {pointintime.stamp(when)}" if when is not None else ""


def refuse_unsafe(args) -> None:
    if args.bucket == TRASH_BUCKET and not args.to_bucket and not args.allow_trash_in_place:
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
    when = point_in_time(args)
    engine = ctx.engine()
    src, dst = restore_locations(ctx.config, args)
    where = f"backup/{src.join()}{describe(when, args)} -> " \
        f"{'production' if not args.to_bucket else 'new'} bucket {dst.join()}"
    if not args.to_bucket and not args.json:
        print(f"Restoring {where} in place: objects present in production are "
              f"{'replaced when they differ' if args.overwrite else 'left alone'}; nothing is deleted.")
    if args.dry_run:
        return dry_run(ctx, engine, src, dst, args, where, when)
    with lock.hold(config.lock_file):
        return restore(ctx, engine, src, dst, args, where, when)


def full_key(loc: Location, key: str) -> str:
    """The key in the bucket (listings are relative to the restored prefix)."""
    return f"{loc.path}/{key}" if loc.path else key


def list_destination(engine, dst: Location) -> dict:
    if not engine.bucket_exists(SOURCE, dst.bucket):
        return {}
    return engine.list(dst)


def version_rows(dst: Location, chosen: dict[str, Version], keys: list[str]) -> list[dict]:
    return [{"key": full_key(dst, k), "version_id": chosen[k].version_id or None,
             "last_modified": pointintime.stamp(chosen[k].mtime), "size": chosen[k].size} for k in keys]


def dry_run(ctx, engine, src, dst, args, where, when) -> int:
    chosen, _ = choose(engine, src, args, when)
    backup = {k: v.as_obj() for k, v in chosen.items()}
    copy, same, different = plan(backup, list_destination(engine, dst), args.overwrite)
    document = {"dry_run": True, "restore": where, "would_restore": len(copy),
                "bytes": sum(backup[k].size for k in copy), "present": len(same) + len(different),
                "keys": [full_key(dst, k) for k in copy[:50]]}
    historic = when is not None or getattr(args, "version_id", None)
    if historic:
        document["as_of"] = pointintime.stamp(when) if when is not None else None
        document["versions"] = version_rows(dst, chosen, copy)
    if args.json:
        print(json.dumps(document, indent=2))
        return EXIT_OK
    print(f"Dry run: would restore {len(copy)} objects ({human_bytes(document['bytes'])}), "
          f"{document['present']} present at the destination are left alone. First keys: "
          + (", ".join(document["keys"][:10]) or "-"))
    if historic:
        print(table(["key", "version id", "last modified (UTC)", "size"],
                    [[r["key"], r["version_id"] or "-", r["last_modified"], human_bytes(r["size"])]
                     for r in document["versions"]]))
    return EXIT_OK


def restore(ctx, engine, src, dst, args, where, when) -> int:
    log = ctx.log
    started = time.monotonic()
    log.info(STARTING_RESTORE, bucket=args.bucket, restore=where)
    result = {"restore": where, "restored": 0, "bytes": 0, "skipped_present": 0, "failed": 0,
              "failures": [], "verified_content": bool(args.verify_content)}
    if when is not None:
        result["as_of"] = pointintime.stamp(when)
    try:
        chosen, at = choose(engine, src, args, when)
        backup = {k: v.as_obj() for k, v in chosen.items()}
        if not backup:
            raise EngineError(f"nothing to restore: backup/{src.join()} holds no objects"
                              + (f" at {pointintime.stamp(when)}" if when is not None else ""))
        if not engine.bucket_exists(SOURCE, dst.bucket):
            engine.make_bucket(SOURCE, dst.bucket)
            production = {}
        else:
            production = engine.list(dst)
        copy, same, different = plan(backup, production, args.overwrite)
        if copy:
            copied = engine.copy_versions(src, dst, {k: chosen[k] for k in copy}, at, ctx.config.timeout)
            if copied.errors:
                raise EngineError(copied.errors[0])
            production = engine.list(dst)
        # Verified against the version chosen, which is not the latest with --as-of or --version-id.
        failures = {k: r for k in copy if (r := verify.differs(backup[k], production.get(k)))}
        if args.verify_content:
            for key in copy:
                if key not in failures and engine.sha256_version(src, chosen[key], at) != engine.sha256(dst, key):
                    failures[key] = "sha256 differs"
        if at is not None:
            result["versions"] = version_rows(dst, chosen, copy)[:50]
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
