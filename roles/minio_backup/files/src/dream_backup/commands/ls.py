"""`dream-backup ls {source|backup} [BUCKET[/PREFIX]]`: list through the configured engine, so operators
of either engine can "verify snapshot availability" (RUNBOOK, Restore Drill step 2)."""

from __future__ import annotations

import json

from dream_backup import envspec
from dream_backup.engines.base import BACKUP, SOURCE, Location
from dream_backup.errors import EXIT_OK, ConfigError
from dream_backup.report import human_bytes, one_line, table


def location(config, side: str, bucket: str, prefix: str) -> Location:
    if side == SOURCE:
        return Location(SOURCE, bucket, prefix.strip("/"))
    return Location(BACKUP, config.target_bucket, config.backup_path(bucket, prefix))


def run(ctx, args) -> int:
    config = ctx.config
    engine = ctx.engine()
    bucket, _, prefix = (args.path or "").partition("/")
    if bucket and envspec.bucket_error(bucket):
        raise ConfigError(f"bucket {bucket!r} {envspec.bucket_error(bucket)}")
    if not bucket:
        rows, doc = [], []
        for name in config.buckets:
            objects = engine.list(location(config, args.side, name, ""))
            size = sum(o.size for o in objects.values())
            doc.append({"bucket": name, "objects": len(objects), "bytes": size})
            rows.append([name, str(len(objects)), human_bytes(size)])
        print(json.dumps(doc, indent=2) if args.json else table(["bucket", "objects", "bytes"], rows))
        return EXIT_OK
    objects = engine.list(location(config, args.side, bucket, prefix))
    if args.json:
        print(json.dumps([{"key": o.key, "size": o.size, "last_modified": o.mtime.isoformat() if o.mtime else None,
                           "md5": o.md5} for o in sorted(objects.values(), key=lambda o: o.key)], indent=2))
    else:
        for o in sorted(objects.values(), key=lambda o: o.key):
            stamp = o.mtime.strftime("%Y-%m-%d %H:%M:%S") if o.mtime else "-" * 19
            print(f"[{stamp} UTC] {human_bytes(o.size):>10}  {one_line(o.key)}")
        print(f"{len(objects)} objects, {human_bytes(sum(o.size for o in objects.values()))}")
    return EXIT_OK
