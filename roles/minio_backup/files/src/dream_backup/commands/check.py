"""`dream-backup check`: preflight of the engine binary, both endpoints, credentials, the buckets and
the target's versioning, without changing anything."""

from __future__ import annotations

import json

from dream_backup.engines.base import BACKUP, SOURCE
from dream_backup.errors import EXIT_FAILURE, EXIT_OK, EXIT_REFUSED, ConfigError, EngineError
from dream_backup.report import table


def run(ctx, args) -> int:
    config = ctx.config
    checks = []

    def record(name, ok, detail):
        checks.append({"check": name, "ok": ok, "detail": detail})
        return ok

    engine = ctx.engine(require=False)
    try:
        record("engine binary", True, engine.require_binary())
    except ConfigError as exc:
        record("engine binary", False, str(exc))
    else:
        for bucket in config.buckets:
            try:
                present = engine.bucket_exists(SOURCE, bucket)
                record(f"source bucket {bucket}", present, "exists" if present else "does not exist")
            except EngineError as exc:
                record(f"source bucket {bucket}", False, str(exc))
        try:
            present = engine.bucket_exists(BACKUP, config.target_bucket)
            if record(f"target bucket {config.target_bucket}", present, "exists" if present else "does not exist"):
                state = engine.versioning(config.target_bucket)
                ok = state == "Enabled" or not config.require_versioning
                record("target versioning", ok, (state or "off") + ("" if ok else
                       " (backups are refused while BACKUP_REQUIRE_VERSIONING=true)"))
        except EngineError as exc:
            record(f"target bucket {config.target_bucket}", False, str(exc))
    if args.json:
        print(json.dumps({"ok": all(c["ok"] for c in checks), "engine": config.engine, "checks": checks},
                         indent=2))
    else:
        print(table(["check", "result", "detail"],
                    [[c["check"], "ok" if c["ok"] else "FAIL", c["detail"]] for c in checks]))
    failing = [f"{c['check']}: {c['detail']}" for c in checks if not c["ok"]]
    if failing:
        ctx.log.error("Check failed", reason="; ".join(failing))
    if not checks[0]["ok"]:
        return EXIT_REFUSED
    return EXIT_FAILURE if failing else EXIT_OK
