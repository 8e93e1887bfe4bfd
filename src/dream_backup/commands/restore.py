"""`dream-backup restore --bucket B [--prefix P] [--to-bucket X] [--overwrite] [--dry-run] [--json]`

Copies `<target bucket>/[<prefix>/]B/P` from the backup to production bucket B (or X, created when
missing) under the same keys. Safe by default: objects present at the destination are never replaced
without --overwrite, and nothing in production is ever deleted. Restoring `trash` in place needs
--allow-trash-in-place. Every restored object is verified afterwards (key and size against the backup
listing; with --verify-content also sha256 of both copies, streamed).

With --as-of T every key is restored as it was at T: its newest backup version not later than T (keys
deleted or not yet created at T are left out), and verification compares with that version. With
--version-id ID and a --prefix naming one key, exactly that version is restored. Only the objects the
plan names are copied (mc's mirror would skip a same-size object that is newer at the destination,
such as a damaged production copy).

Memory stays flat whatever the bucket's size: both listings, the plan and the verification are spooled
to SQLite files in the engine's private directory (listing.py), the engine's output is read as it is
written, and the result keeps the first FIRST_KEYS keys of each kind with the counts of all. When some
objects fail, the others stay restored: the result counts both and names the first failures."""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from dream_backup import bounded, lock, pointintime, verify
from dream_backup.commands.trash_report import TRASH_BUCKET
from dream_backup.engines.base import BACKUP, SOURCE, Location
from dream_backup.engines.history import Version
from dream_backup.errors import EXIT_FAILURE, EXIT_OK, ConfigError, EngineError
from dream_backup.listing import Entry, Listing, ListingWriter, moment, pairs
from dream_backup.report import human_bytes, say, table

STARTING_RESTORE = "Starting restore"
COMPLETED_RESTORE = "Completed restore"
RESTORE_FAILED = "Restore failed"
FIRST_KEYS = 50  # keys of each kind a result names; the counts cover all


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


def chosen_versions(engine, src: Location, args, when):
    """The version to restore per key (relative to src), streamed, and the time the engine copies them
    as of (None: the current objects)."""
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
        return iter([version]), version.mtime
    if when is not None:
        return engine.scan_state_at(src, when), when
    return (Version(o.key, "", o.mtime, o.size, o.md5, latest=True) for o in engine.scan(src)), None


@dataclass
class Plan:
    """What a restore copies (two spooled listings) and what it leaves alone (counts, first keys)."""

    absent: Listing  # keys the destination lacks
    replace: Listing  # keys the destination holds in another form, replaced with --overwrite
    same: int = 0
    different: int = 0  # present in another form and left alone (no --overwrite)
    different_keys: list[str] = field(default_factory=list)  # the first FIRST_KEYS of them

    @property
    def count(self) -> int:
        return len(self.absent) + len(self.replace)

    def listings(self) -> tuple[Listing, Listing]:
        return self.absent, self.replace

    def first_keys(self, limit: int = FIRST_KEYS) -> list[str]:
        keys = self.absent.keys(limit)
        return keys + self.replace.keys(limit - len(keys))

    def total_size(self) -> int:
        return self.absent.total_size() + self.replace.total_size()


def make_plan(engine, backup: Listing, production: Listing, overwrite: bool) -> Plan:
    """One pass over the two listings joined by key (listing.pairs): each backup key is absent at the
    destination, present and the same, or present and different (replaced only with ``overwrite``)."""
    absent = ListingWriter(os.path.join(engine.workdir, "restore.absent.sqlite"), "the restore plan")
    replace = ListingWriter(os.path.join(engine.workdir, "restore.replace.sqlite"), "the restore plan")
    plan = Plan(absent.listing, replace.listing)
    try:
        for key, obj, have in pairs(backup, production):
            if have is None:
                absent.add(planned(key, obj))
            elif not verify.differs(obj, have):
                plan.same += 1
            elif overwrite:
                replace.add(planned(key, obj))
            else:
                plan.different += 1
                if len(plan.different_keys) < FIRST_KEYS:
                    plan.different_keys.append(key)
    finally:
        absent.close()
        replace.close()
    return plan


def planned(key: str, entry: Entry) -> Version:
    return Version(key, entry.version or "", moment(entry.mtime), entry.size, entry.md5)


def describe(when, args) -> str:
    if getattr(args, "version_id", None):
        return f" (version {args.version_id})"
    return f" as of {pointintime.stamp(when)}" if when is not None else ""


def refuse_unsafe(args) -> None:
    if args.bucket == TRASH_BUCKET and not args.to_bucket and not args.allow_trash_in_place:
        raise ConfigError("refusing to restore 'trash' in place: it would bring back objects that were purged "
                          "on purpose (approved retention overrides). Restore into --to-bucket, or add "
                          "--allow-trash-in-place when compliance approved it")


def refuse_carried_lock(engine, config, what: str) -> None:
    """Refused before anything is copied (exit 2), rather than every upload failing one by one: mc
    copies a locked backup version's retention along, and a bucket without object lock refuses each
    such upload (docs/recovery.md). rclone copies no lock settings, so it is the way out."""
    if not engine.copies_lock_settings:
        return
    mode = engine.protection(config.target_bucket).lock_mode
    if mode in ("GOVERNANCE", "COMPLIANCE"):
        raise ConfigError(f"refusing {what} with the {engine.name} engine: the backup bucket {config.target_bucket} "
                          f"locks its versions ({mode}), and {engine.name} would copy that lock along, which a "
                          "bucket without object lock refuses for every object. Run it with the rclone engine "
                          "(BACKUP_ENGINE=rclone for this run, or -e minio_backup_engine=rclone; both engines lay "
                          "the backup out alike; docs/recovery.md)")


def run(ctx, args) -> int:
    config = ctx.config
    refuse_unsafe(args)
    when = point_in_time(args)
    engine = ctx.engine()
    refuse_carried_lock(engine, config, "a restore")
    src, dst = restore_locations(ctx.config, args)
    where = f"backup/{src.join()}{describe(when, args)} -> " \
        f"{'production' if not args.to_bucket else 'new'} bucket {dst.join()}"
    if not args.to_bucket and not args.json:
        say(f"Restoring {where} in place: objects present in production are "
            f"{'replaced when they differ' if args.overwrite else 'left alone'}; nothing is deleted.")
    if args.dry_run:
        return dry_run(ctx, engine, src, dst, args, where, when)
    with lock.hold(config.lock_file):
        return restore(ctx, engine, src, dst, args, where, when)


def full_key(loc: Location, key: str) -> str:
    """The key in the bucket (listings are relative to the restored prefix)."""
    return f"{loc.path}/{key}" if loc.path else key


def spool_destination(engine, dst: Location, name: str) -> Listing:
    """The destination's listing; an empty one when its bucket does not exist yet."""
    if not engine.bucket_exists(SOURCE, dst.bucket):
        return Listing.build(engine, name, (), "an empty listing")
    return Listing.spool(engine, dst, name)


def spool_sides(engine, src: Location, dst: Location, args, when):
    """The backup's chosen versions and the destination's objects, listed at once; and the time the
    engine copies as of."""
    chosen, at = chosen_versions(engine, src, args, when)
    with ThreadPoolExecutor(max_workers=2) as pool:
        backup = pool.submit(Listing.build, engine, "restore.backup", chosen, f"listing backup/{src.join()}")
        production = pool.submit(spool_destination, engine, dst, "restore.production")
        return backup.result(), production.result(), at


def plan_restore(engine, src: Location, dst: Location, args, when) -> tuple[Plan, object, int]:
    """The plan, the time the engine copies as of, and how many objects the backup holds there. Only
    the plan's listings stay on disk."""
    backup, production, at = spool_sides(engine, src, dst, args, when)
    try:
        return make_plan(engine, backup, production, args.overwrite), at, len(backup)
    finally:
        backup.remove()
        production.remove()


def version_rows(dst: Location, plan: Plan) -> list[dict]:
    """The first FIRST_KEYS planned keys with the version each is restored from."""
    rows = []
    for listing in plan.listings():
        for version in listing.versions():
            if len(rows) >= FIRST_KEYS:
                return rows
            rows.append({"key": full_key(dst, version.key), "version_id": version.version_id or None,
                         "last_modified": pointintime.stamp(version.mtime), "size": version.size})
    return rows


def dry_run(ctx, engine, src, dst, args, where, when) -> int:
    plan = plan_restore(engine, src, dst, args, when)[0]
    document = {"dry_run": True, "restore": where, "would_restore": plan.count, "bytes": plan.total_size(),
                "present": plan.same + plan.different,
                "keys": [full_key(dst, k) for k in plan.first_keys()]}
    historic = when is not None or getattr(args, "version_id", None)
    if historic:
        document["as_of"] = pointintime.stamp(when) if when is not None else None
        document["versions"] = version_rows(dst, plan)
    if args.json:
        print(json.dumps(document, indent=2))
        return EXIT_OK
    say(f"Dry run: would restore {plan.count} objects ({human_bytes(document['bytes'])}), "
        f"{document['present']} present at the destination are left alone. First keys: "
        + (", ".join(document["keys"][:10]) or "-"))
    if historic:
        print(table(["key", "version id", "last modified (UTC)", "size"],
                    [[r["key"], r["version_id"] or "-", r["last_modified"], human_bytes(r["size"])]
                     for r in document["versions"]]))
    return EXIT_OK


CONTENT_READERS = 4  # objects whose two copies are hashed at once by --verify-content


@dataclass
class Checked:
    """What the verification of a restore found: failures, and keys the engine cannot address."""

    failed: int = 0
    failures: list[str] = field(default_factory=list)  # the first FIRST_KEYS, as 'key: reason'
    unstorable: int = 0
    unstorable_keys: list[str] = field(default_factory=list)  # the first FIRST_KEYS


def check_restored(engine, src, dst, plan: Plan, at, content: bool) -> Checked:
    """Every planned key compared with a fresh listing of the destination, and with ``content`` by sha256
    of both copies, CONTENT_READERS objects at a time. A missing key the backup's listing names with
    U+FFFD, when the engine's listings can be lossy, is unstorable (docs/unstorable.md), not failed."""
    after = Listing.spool(engine, dst, "restore.after")
    checked = Checked()

    def fail(key: str, reason: str) -> None:
        if reason == "missing" and engine.lossy_listings and "\ufffd" in key:
            checked.unstorable += 1
            if len(checked.unstorable_keys) < FIRST_KEYS:
                checked.unstorable_keys.append(full_key(dst, key))
            return
        checked.failed += 1
        if len(checked.failures) < FIRST_KEYS:
            checked.failures.append(f"{full_key(dst, key)}: {reason}")

    def listed_alike():
        """The planned keys the listing shows restored; the others fail here."""
        for listing in plan.listings():
            for key, obj, have in pairs(listing, after):
                reason = verify.differs(obj, have)
                if reason:
                    fail(key, reason)
                else:
                    yield key, obj

    def content_of(item) -> tuple[str, str | None]:
        key, obj = item
        try:
            same = engine.sha256_version(src, planned(key, obj), at) == engine.sha256(dst, key)
        except EngineError as exc:
            return key, str(exc)
        return key, None if same else "sha256 differs"

    try:
        if content:
            for key, reason in bounded.unordered(content_of, listed_alike(), CONTENT_READERS):
                if reason:
                    fail(key, reason)
        else:
            for _ in listed_alike():
                pass
    finally:
        after.remove()
    checked.failures.sort()
    checked.unstorable_keys.sort()
    return checked


def restore(ctx, engine, src, dst, args, where, when) -> int:
    log = ctx.log
    started = time.monotonic()
    log.info(STARTING_RESTORE, bucket=args.bucket, restore=where)
    result = {"restore": where, "restored": 0, "bytes": 0, "skipped_present": 0, "failed": 0,
              "failures": [], "unstorable": 0, "unstorable_keys": [], "verified_content": bool(args.verify_content)}
    if when is not None:
        result["as_of"] = pointintime.stamp(when)
    try:
        plan, at, backed_up = plan_restore(engine, src, dst, args, when)
        if not backed_up:
            raise EngineError(f"nothing to restore: backup/{src.join()} holds no objects"
                              + (f" at {pointintime.stamp(when)}" if when is not None else ""))
        if not engine.bucket_exists(SOURCE, dst.bucket):
            engine.make_bucket(SOURCE, dst.bucket)
        result.update(bytes=plan.total_size(), skipped_present=plan.same + plan.different,
                      skipped_different=[full_key(dst, k) for k in plan.different_keys])
        if at is not None:
            result["versions"] = version_rows(dst, plan)
        copied = engine.copy_planned(src, dst, plan.absent, plan.replace, at, ctx.config.timeout) \
            if plan.count else None
        # Verified against the version chosen (not the latest with --as-of or --version-id), also after
        # an engine error: what did arrive is counted as restored.
        checked = check_restored(engine, src, dst, plan, at, args.verify_content) if plan.count else Checked()
        failed, first = checked.failed, checked.failures
        # Restored means copied and verified: neither a failure nor an unstorable key counts.
        result.update(restored=plan.count - failed - checked.unstorable, failed=failed, failures=first,
                      unstorable=checked.unstorable, unstorable_keys=checked.unstorable_keys)
        if copied is not None and copied.errors:
            result["engine_errors"] = copied.errors
            result["engine_error_count"] = copied.error_count
        if failed:
            raise EngineError(f"{failed} of {plan.count} objects were not restored (first: {first[0]})"
                              + (f"; the engine reported: {copied.summary()}" if copied and copied.errors else ""))
        if checked.unstorable:
            # Not a success: objects are still missing at the destination, and the operator must act.
            raise EngineError(f"{checked.unstorable} of {plan.count} objects were not restored because they are "
                              f"unstorable (first: {checked.unstorable_keys[0]}): {engine.unstorable_reason()}; "
                              f"the other {result['restored']} were restored")
        if copied is not None and copied.errors:
            raise EngineError(f"every object arrived, but the engine reported: {copied.summary()}")
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
        print(table(["restore", "restored", "bytes", "skipped (present)", "failed", "unstorable"],
                    [[where, str(result["restored"]), human_bytes(result["bytes"]),
                      str(result["skipped_present"]), str(result["failed"]), str(result["unstorable"])]]))
        say(f"{RESTORE_FAILED}: {result['reason']}" if "reason" in result else COMPLETED_RESTORE)
    return EXIT_FAILURE if "reason" in result else EXIT_OK
