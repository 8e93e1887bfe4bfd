"""`dream-backup check`: preflight of the engine binary, both endpoints, credentials, the buckets and
the target's versioning, lifecycle and object lock, without changing anything. A target without a
noncurrent-version expiry rule is a warning: its history would grow without bound."""

from __future__ import annotations

import json

from dream_backup import s3probe
from dream_backup.engines.base import BACKUP, SOURCE
from dream_backup.engines.history import UNKNOWN
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
                checks.extend(protection_checks(engine, config))
        except EngineError as exc:
            record(f"target bucket {config.target_bucket}", False, str(exc))
        checks.extend(rights_checks(config, [c["check"].split()[-1] for c in checks
                                             if c["check"].startswith("source bucket ") and c["ok"]],
                                    any(c["check"].startswith("target bucket ") and c["ok"] for c in checks)))
    if args.json:
        print(json.dumps({"ok": all(c["ok"] for c in checks), "engine": config.engine, "checks": checks},
                         indent=2))
    else:
        print(table(["check", "result", "detail"],
                    [[c["check"], "FAIL" if not c["ok"] else "WARN" if c.get("warning") else "ok", c["detail"]]
                     for c in checks]))
    failing = [f"{c['check']}: {c['detail']}" for c in checks if not c["ok"]]
    if failing:
        ctx.log.error("Check failed", reason="; ".join(failing))
    if not checks[0]["ok"]:
        return EXIT_REFUSED
    return EXIT_FAILURE if failing else EXIT_OK


def protection_checks(engine, config) -> list[dict]:
    """Lifecycle and object lock of the target bucket, as far as the engine can read them."""
    found = engine.protection(config.target_bucket)
    cannot = f"unknown (engine {config.engine} cannot read it)"
    if found.lifecycle == UNKNOWN:
        lifecycle = {"check": "target lifecycle", "ok": True, "detail": cannot, "lifecycle": None}
    elif found.lifecycle == "none":
        lifecycle = {"check": "target lifecycle", "ok": True, "warning": True, "lifecycle": {},
                     "detail": "no noncurrent-version rule: history would grow without bound"}
    else:
        keep = f", keep the {found.keep_newer} newest" if found.keep_newer else ""
        lifecycle = {"check": "target lifecycle", "ok": True,
                     "detail": f"noncurrent versions expire after {found.noncurrent_days} days{keep}",
                     "lifecycle": {"noncurrent_days": found.noncurrent_days, "keep_newer": found.keep_newer}}
    if found.lock_mode == UNKNOWN:
        lock = {"check": "target object lock", "ok": True, "detail": cannot, "object_lock": None}
    elif found.lock_mode == "off":
        lock = {"check": "target object lock", "ok": True, "detail": "off", "object_lock": {"mode": None}}
    else:
        lock = {"check": "target object lock", "ok": True,
                "detail": f"{found.lock_mode} {found.lock_days} days" if found.lock_days else found.lock_mode,
                "object_lock": {"mode": found.lock_mode, "days": found.lock_days}}
    if found.why_unknown and config.engine != "rclone":
        for item in (lifecycle, lock):
            if item["detail"] == cannot:
                item["detail"] = f"unknown ({found.why_unknown})"
    return [lifecycle, lock]


RIGHTS_ADVICE = "docs/security.md"


def rights_checks(config, source_buckets: list[str], target_present: bool) -> list[dict]:
    """What the keys may do that they should not (s3probe: invalid write requests, nothing changes): the
    nightly source key writing production, the target key changing the target's lifecycle or versioning.
    A right held is a warning; an answer that proves neither is reported as unknown."""
    probes = [(f"source key writes {bucket}", config.source, bucket, s3probe.can_write_object,
               "the nightly source key can write production: give it policy dream-backup-source-read "
               f"({RIGHTS_ADVICE})") for bucket in source_buckets]
    if target_present:
        probes += [(f"target key changes {what}", config.target, config.target_bucket, probe,
                    f"the target key can change the target's {what}: the VPS could shorten or switch off its "
                    f"history; give it policy dream-backup-target-write ({RIGHTS_ADVICE})")
                   for what, probe in (("lifecycle", s3probe.can_change_lifecycle),
                                       ("versioning", s3probe.can_change_versioning))]
    found = []
    for name, endpoint, bucket, probe, warning in probes:
        try:
            answer, how = probe(endpoint, bucket, config.ca_file)
        except Exception as exc:  # noqa: BLE001 - a probe never fails the check; it reports unknown
            answer, how = s3probe.UNKNOWN, f"no answer ({type(exc).__name__})"
        item = {"check": name, "ok": True, "rights": answer}
        if answer == s3probe.CAN:
            item.update(warning=True, detail=f"yes ({how} to an invalid write request): {warning}")
        elif answer == s3probe.CANNOT:
            item["detail"] = f"no ({how} to an invalid write request)"
        else:
            item["detail"] = f"unknown ({how})"
        found.append(item)
    return found
