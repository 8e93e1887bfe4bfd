"""`dream-backup trash-report [--now ISO8601] [--key K]… [--json]`: the Admin Panel's retention countdown
for every object in `trash` (RUNBOOK "Retention Overrides"), and whether an off-site copy exists.

Read-only: deletions and early purges stay with the Admin Panel, which writes the audit record. With
--key, it answers compliance's question before an early purge: does the object exist, how old is it,
and is its off-site copy there (so the purge loses nothing)."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

from dream_backup.commands.backup import list_both, mirror_locations
from dream_backup.engines.base import parse_time
from dream_backup.errors import EXIT_OK, ConfigError
from dream_backup.report import human_bytes, table

TRASH_BUCKET = "trash"  # where the Admin Panel keeps deleted objects until their retention period ends
DAY = 86400.0


def countdown(age_seconds: float, period_days: int) -> tuple[int, str]:
    """Whole days until eligible (rounded up) and the Admin Panel's words for it."""
    remaining = period_days * DAY - age_seconds
    if remaining <= 0:
        return 0, "Eligible now"
    days = math.ceil(remaining / DAY)
    return days, f"Eligible in {days} day{'s' if days != 1 else ''}"


def parse_now(text: str | None) -> datetime:
    if not text:
        return datetime.now(UTC)
    parsed = parse_time(text if "T" in text else text + "T00:00:00Z")
    if parsed is None:
        raise ConfigError(f"--now '{text}' is not an ISO 8601 time such as 2026-11-27T12:00:00Z")
    return parsed


def run(ctx, args) -> int:
    config = ctx.config
    now = parse_now(args.now)
    engine = ctx.engine()
    source, backup = list_both(engine, *mirror_locations(config, TRASH_BUCKET))
    rows = []
    for key, obj in source.items():
        age = (now - obj.mtime).total_seconds() if obj.mtime else 0.0
        days, words = countdown(age, config.trash_retention_days)
        copy = backup.get(key)
        rows.append({"key": key, "size": obj.size, "last_modified": obj.mtime.isoformat() if obj.mtime else None,
                     "age_seconds": round(age), "age_days": round(age / DAY, 2), "eligible_in_days": days,
                     "countdown": words, "eligible": days == 0,
                     "backed_up": bool(copy and copy.size == obj.size)})
    rows.sort(key=lambda r: (r["eligible_in_days"], -r["age_seconds"], r["key"]))
    document = {"now": now.isoformat(), "retention_days": config.trash_retention_days, "bucket": TRASH_BUCKET,
                "objects": rows}
    if args.key:
        found = {r["key"]: r for r in rows}
        document["asked"] = [found.get(k, {"key": k, "exists": False}) | {"exists": k in found} for k in args.key]
    if args.json:
        print(json.dumps(document, indent=2))
        return EXIT_OK
    shown = document.get("asked", rows)
    print(f"Trash retention ({config.trash_retention_days} days) at {now:%Y-%m-%d %H:%M} UTC")
    print(table(["key", "size", "age", "countdown", "off-site copy"],
                [[r["key"], human_bytes(r["size"]) if "size" in r else "-",
                  f"{r['age_days']:.1f} d" if "age_days" in r else "-",
                  r.get("countdown", "does not exist"),
                  ("yes" if r["backed_up"] else "NO") if "backed_up" in r else "-"] for r in shown]))
    return EXIT_OK
