"""`dream-backup ls {source|backup} [BUCKET[/PREFIX]]`: list through the configured engine, so operators
of either engine can "verify snapshot availability" (RUNBOOK, Restore Drill step 2)."""

from __future__ import annotations

import json

from dream_backup import envspec, pointintime
from dream_backup.engines.base import BACKUP, SOURCE, Location
from dream_backup.errors import EXIT_OK, ConfigError
from dream_backup.report import human_bytes, one_line, table


def location(config, side: str, bucket: str, prefix: str) -> Location:
    if side == SOURCE:
        return Location(SOURCE, bucket, prefix.strip("/"))
    return Location(BACKUP, config.target_bucket, config.backup_path(bucket, prefix))


def as_of(args):
    """The --as-of time, refused (exit 2) before anything is listed when it is invalid or not for the backup."""
    if getattr(args, "as_of", None) is None:
        return None
    if args.side != BACKUP:
        raise ConfigError("--as-of lists the backup's history: use `dream-backup ls backup ... --as-of T`")
    return pointintime.parse(args.as_of)


def run(ctx, args) -> int:
    config = ctx.config
    when = as_of(args)
    engine = ctx.engine()

    version_ids: dict[str, str] = {}

    def listing(loc: Location) -> dict:
        """The objects now, or with --as-of the version of each key current at T."""
        if when is None:
            return engine.list(loc)
        chosen = engine.state_at(loc, when)
        version_ids.update({k: v.version_id for k, v in chosen.items()})
        return {k: v.as_obj() for k, v in chosen.items()}

    bucket, _, prefix = (args.path or "").partition("/")
    if bucket and envspec.bucket_error(bucket):
        raise ConfigError(f"bucket {bucket!r} {envspec.bucket_error(bucket)}")
    if not bucket:
        rows, doc = [], []
        for name in config.buckets:
            objects = listing(location(config, args.side, name, ""))
            size = sum(o.size for o in objects.values())
            doc.append({"bucket": name, "objects": len(objects), "bytes": size})
            rows.append([name, str(len(objects)), human_bytes(size)])
        print(json.dumps(doc, indent=2) if args.json else table(["bucket", "objects", "bytes"], rows))
        return EXIT_OK
    objects = listing(location(config, args.side, bucket, prefix))
    if args.json:
        print(json.dumps([{"key": o.key, "size": o.size, "last_modified": o.mtime.isoformat() if o.mtime else None,
                           "md5": o.md5, **({"version_id": version_ids.get(o.key) or None} if when else {})}
                          for o in sorted(objects.values(), key=lambda o: o.key)], indent=2))
    else:
        for o in sorted(objects.values(), key=lambda o: o.key):
            stamp = o.mtime.strftime("%Y-%m-%d %H:%M:%S") if o.mtime else "-" * 19
            print(f"[{stamp} UTC] {human_bytes(o.size):>10}  {one_line(o.key)}"
                  + (f"  (version {version_ids.get(o.key) or '-'})" if when else ""))
        print(f"{len(objects)} objects, {human_bytes(sum(o.size for o in objects.values()))}")
    return EXIT_OK
