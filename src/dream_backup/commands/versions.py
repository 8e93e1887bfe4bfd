"""`dream-backup versions --bucket B [--prefix P] [--json]`: the backup's history.

Every version of every key under `<target bucket>/[<prefix>/]B/P`, newest first: time, size, version
id, delete marker, and which one is current; with a prefix, one summary line per key. A prefix that
names a single key (no trailing '/') shows that key's history."""

from __future__ import annotations

import json

from dream_backup import pointintime
from dream_backup.engines.base import BACKUP, Location
from dream_backup.errors import EXIT_OK
from dream_backup.report import human_bytes, say, table

RCLONE_NOTE = ("rclone lists no delete markers and no S3 version ids: ids are rclone's version tags "
               "(usable with restore --version-id), a deletion shows as a current delete marker of unknown time")


def histories(engine, config, bucket: str, prefix: str):
    """(the key prefix the keys are relative to, versions by key). A prefix without a trailing '/' may
    name one key or a folder: its parent folder is listed and both are kept."""
    path = prefix.strip("/")
    if not path or prefix.endswith("/"):
        return path, engine.list_versions(Location(BACKUP, config.target_bucket, config.backup_path(bucket, path)))
    folder, _, name = path.rpartition("/")
    found = engine.list_versions(Location(BACKUP, config.target_bucket, config.backup_path(bucket, folder)))
    return folder, {k: v for k, v in found.items() if k == name or k.startswith(name + "/")}


def summary(key: str, history) -> str:
    kept = [v for v in history if not v.delete_marker]
    current = history[0] if history else None
    state = ("deleted" if current is None or current.delete_marker
             else f"current {pointintime.stamp(current.mtime)} ({human_bytes(current.size)})")
    oldest = min((v.mtime for v in kept if v.mtime), default=None)
    return f"{key}: {len(kept)} versions, {state}, oldest {pointintime.stamp(oldest) if oldest else '-'}"


def run(ctx, args) -> int:
    engine = ctx.engine()
    base, found = histories(engine, ctx.config, args.bucket, args.prefix)
    keys = sorted(found)

    def full(key: str) -> str:
        return f"{base}/{key}" if base else key

    if args.json:
        document = {"bucket": args.bucket, "prefix": args.prefix, "engine": ctx.config.engine, "keys": [
            {"key": full(k), "summary": summary(full(k), found[k]), "versions": [
                {"version_id": v.version_id or None, "last_modified": v.mtime.isoformat() if v.mtime else None,
                 "size": v.size, "delete_marker": v.delete_marker, "current": v.latest} for v in found[k]]}
            for k in keys]}
        if ctx.config.engine == "rclone":
            document["note"] = RCLONE_NOTE
        print(json.dumps(document, indent=2))
        return EXIT_OK
    rows = [[full(k), pointintime.stamp(v.mtime), "-" if v.delete_marker else human_bytes(v.size),
             v.version_id or "-", "delete marker" if v.delete_marker else "", "current" if v.latest else ""]
            for k in keys for v in found[k]]
    print(table(["key", "last modified (UTC)", "size", "version id", "kind", "state"], rows))
    if args.prefix:
        for k in keys:
            say(summary(full(k), found[k]))
    total = sum(len(h) for h in found.values())
    print(f"{len(keys)} keys, {total} versions")
    if ctx.config.engine == "rclone":
        print(f"Note: {RCLONE_NOTE}.")
    return EXIT_OK
