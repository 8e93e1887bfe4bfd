"""TEST DOUBLE of the MinIO client, part two: versions and points in time (mc's final release).

- `ls --versions [--recursive] --json P`: every version, keys in order, the latest first within a key,
  each line with `versionId`, `versionOrdinal` (1 = oldest) and `isDeleteMarker: true` on delete markers.
- `--rewind T` on ls, cp, cat, stat: the newest version whose lastModified is STRICTLY BEFORE T. T is
  `2006.01.02`, `2006.01.02T15:04`, `2006.01.02T15:04:05` (the machine's LOCAL time zone), RFC 3339, or
  a duration back from now (`7d`, `10d2h`, `30m`); a negative duration or any other form is fatal (exit 1).
  `ls --rewind` prints a key whose version at T is a delete marker with `isDeleteMarker: true`;
  `cp --rewind --recursive` skips such keys and every key created after T.
- `cp [--recursive] [--version-id|--vid ID] [--rewind T] SRC DST`, `cat`/`stat` `--version-id ID`.
- `ilm rule ls --json`, `retention info --default --json` (JSON shapes of mc's ilm-ls and
  retention-common messages).
"""

from __future__ import annotations

import json
import re
import sys
from datetime import datetime, timedelta

from minio.error import S3Error

_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
_DURATION = re.compile(r"^([-+]?)((?:\d+(?:\.\d+)?(?:ms|us|µs|ns|d|h|m|s))+)$")
_LOCAL_LAYOUTS = ("%Y.%m.%d", "%Y.%m.%dT%H:%M", "%Y.%m.%dT%H:%M:%S")
_RFC3339 = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$")
VALUE_OPTIONS = {"--rewind", "--version-id", "--vid"}


def core():
    from tests.support import mc_double  # noqa: PLC0415 - the two halves import each other

    return mc_double


def has_option(args: list[str], *names: str) -> bool:
    return any(a.partition("=")[0] in names for a in args)


def split_options(args: list[str]) -> tuple[dict, list[str]]:
    """(options with their values, positional arguments) of one command's arguments."""
    return core().split_flags(args, VALUE_OPTIONS, lambda token: token.startswith("-"),
                              {"--vid": "--version-id", "-r": "--recursive"})


def parse_rewind(text: str, now: datetime | None = None) -> datetime:
    """mc's parseRewindFlag: a duration back from now, else the layouts in the LOCAL time zone, else
    RFC 3339. Returns an aware datetime; raises Fatal for a negative duration or another form."""
    now = now or datetime.now().astimezone()
    match = _DURATION.match(text)
    if match:
        if match.group(1) == "-":
            raise core().Fatal(f"Negative duration is not supported. ({text})")
        seconds = sum(float(n) * _UNITS[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ms|us|µs|ns|d|h|m|s)",
                                                                   match.group(2)))
        return now - timedelta(seconds=seconds)
    for layout in _LOCAL_LAYOUTS:
        try:
            return datetime.strptime(text, layout).astimezone()  # naive = the machine's local zone
        except ValueError:
            continue
    rfc = _RFC3339.match(text)
    if rfc:
        base, fraction, zone = rfc.groups()
        stamp = base + ((fraction + "000000")[:7] if fraction else "") + ("+00:00" if zone == "Z" else zone)
        return datetime.fromisoformat(stamp)
    raise core().Fatal(f"Unable to parse rewind flag. ({text})")


def histories(client, bucket: str, prefix: str) -> dict[str, list]:
    """Every version by full key, latest first within a key (newest lastModified after that)."""
    found: dict[str, list] = {}
    for obj in client.list_objects(bucket, prefix=prefix or None, recursive=True, include_version=True):
        if not obj.is_dir:
            found.setdefault(obj.object_name, []).append(obj)
    return {key: sorted(items, key=lambda o: (bool(o.is_latest), o.last_modified), reverse=True)
            for key, items in sorted(found.items())}


def before(history: list, ref: datetime | None) -> list:
    """The versions strictly before ``ref`` (mc's rewind), all of them when ``ref`` is None."""
    return [v for v in history if ref is None or v.last_modified < ref]


def version_line(alias: str, bucket: str, rel: str, obj, ordinal: int | None) -> dict:
    line = {"status": "success", "type": "file", "lastModified": core().local_time(obj.last_modified),
            "size": obj.size or 0, "key": rel, "etag": (obj.etag or "").strip('"'),
            "url": f"{alias}/{bucket}/", "versionId": obj.version_id or "", "storageClass": "STANDARD"}
    if ordinal is not None:
        line["versionOrdinal"] = ordinal
    if obj.is_delete_marker:
        line["isDeleteMarker"] = True
    return line


def cmd_ls_history(flags: dict, args: list[str]) -> int:
    mc = core()
    options, paths = split_options(args)
    ref = parse_rewind(options["--rewind"]) if "--rewind" in options else None
    alias, bucket, key = mc.split_path(paths[0])
    client = mc.client_for(alias)
    if not client.bucket_exists(bucket):
        mc.emit_error(f"Unable to list folder. Bucket `{bucket}` does not exist.",
                      "The specified bucket does not exist")
        return 1
    prefix = key if not key or key.endswith("/") else key + "/"
    for full, history in histories(client, bucket, prefix).items():
        rel = full[len(prefix):]
        if not options.get("--recursive") and "/" in rel:
            continue
        kept = before(history, ref)
        if options.get("--versions"):
            total = len(history)
            for obj in kept:
                mc.emit(version_line(alias, bucket, rel, obj, total - history.index(obj)))
        elif kept:
            mc.emit(version_line(alias, bucket, rel, kept[0], None))
    return 0


def resolve(client, bucket: str, key: str, options: dict):
    """The version that cp/cat/stat read: --version-id, else --rewind, else the latest (None: no such).
    Like mc, only --rewind lists the key's versions; the latest or one exact version is a stat of the key."""
    if "--rewind" not in options:
        try:
            return client.stat_object(bucket, key, version_id=options.get("--version-id"))
        except S3Error:
            return None  # no such key, no such version, or a delete marker
    return pick(histories(client, bucket, key).get(key, []), options)


def pick(history: list, options: dict):
    if "--version-id" in options:
        found = [v for v in history if v.version_id == options["--version-id"]]
        return found[0] if found and not found[0].is_delete_marker else None
    ref = parse_rewind(options["--rewind"]) if "--rewind" in options else None
    kept = before(history, ref)
    return kept[0] if kept and not kept[0].is_delete_marker else None


def cmd_cp(flags: dict, args: list[str]) -> int:
    mc = core()
    options, paths = split_options(args)
    if "--version-id" in options and "--rewind" in options:
        raise mc.Fatal("--version-id and --rewind cannot be used together.")
    if "--version-id" in options and options.get("--recursive"):
        raise mc.Fatal("--version-id cannot be used with --recursive.")
    if "--rewind" in options:
        parse_rewind(options["--rewind"])  # a bad form is fatal before anything is copied
    if len(paths) != 2:
        raise mc.Fatal("cp needs a source and a target.")
    salias, sbucket, skey = mc.split_path(paths[0])
    dalias, dbucket, dkey = mc.split_path(paths[1])
    src, dst = mc.client_for(salias), mc.client_for(dalias)
    for client, bucket in ((src, sbucket), (dst, dbucket)):
        if not client.bucket_exists(bucket):
            mc.emit_error(f"Unable to copy `{paths[0]}`. Bucket `{bucket}` does not exist.", fatal=True)
            return 1
    if options.get("--recursive"):
        # `dir/` copies the folder's contents, `dir` the folder itself (its name joins the target path).
        listed = skey if not skey or skey.endswith("/") else skey + "/"
        base = listed if listed == skey else (skey.rpartition("/")[0] + "/" if "/" in skey else "")
        into = dkey.rstrip("/") + "/" if dkey else ""
        plan = []
        for full, history in histories(src, sbucket, listed).items():
            obj = pick(history, options)
            if obj is not None:  # deleted at T or created after T: not copied
                plan.append((full, obj, into + full[len(base):]))
    else:
        obj = resolve(src, sbucket, skey, options)
        if obj is None:
            mc.emit_error(f"Unable to copy `{paths[0]}`.", "Object does not exist")
            return 1
        target = dkey + skey.rpartition("/")[2] if not dkey or dkey.endswith("/") else dkey
        plan = [(skey, obj, target)]
    errors, total = 0, 0
    for count, (full, obj, target) in enumerate(plan, 1):
        total += obj.size or 0
        mc.emit({"status": "success", "source": f"{salias}/{sbucket}/{full}",
                 "target": f"{dalias}/{dbucket}/{target}", "size": obj.size or 0, "totalCount": count,
                 "totalSize": total})
        try:
            mc.copy_object(src, sbucket, obj.object_name, dst, dbucket, target, obj.version_id)
        except Exception as exc:  # noqa: BLE001 - reported like mc's copy errors
            errors += 1
            mc.emit_error(f"Failed to copy `{salias}/{sbucket}/{full}`.", str(exc))
    return 1 if errors else 0


def addressed_version(args: list[str]) -> tuple[str, object, str, str, object]:
    """(the path as given, its client, bucket and key, the version cat/stat read; None: no such)."""
    mc = core()
    options, paths = split_options(args)
    alias, bucket, key = mc.split_path(paths[0])
    client = mc.client_for(alias)
    return paths[0], client, bucket, key, resolve(client, bucket, key, options)


def cmd_cat_history(flags: dict, args: list[str]) -> int:
    path, client, bucket, key, obj = addressed_version(args)
    if obj is None:
        sys.stderr.write(f"mc: <ERROR> Unable to read from `{path}`. Object does not exist.\n")
        return 1
    return core().write_stream(client.get_object(bucket, key, version_id=obj.version_id))


def cmd_stat_history(flags: dict, args: list[str]) -> int:
    mc = core()
    path, client, bucket, key, obj = addressed_version(args)
    if obj is None:
        mc.emit_error(f"Unable to stat `{path}`. Object does not exist.")
        return 1
    st = client.stat_object(bucket, key, version_id=obj.version_id)
    mc.emit({"status": "success", "name": key, "lastModified": mc.local_time(st.last_modified), "size": st.size,
             "etag": (st.etag or "").strip('"'), "type": "file", "metadata": dict(st.metadata or {}),
             "versionID": st.version_id or "", "checksum": {}})
    return 0


def cmd_ilm(flags: dict, args: list[str]) -> int:
    mc = core()
    _, paths = split_options(args)
    if paths[:2] != ["rule", "ls"] or len(paths) != 3:
        sys.stderr.write("mc: <ERROR> the test double implements only `mc ilm rule ls`\n")
        return 1
    alias, bucket, _ = mc.split_path(paths[2])
    config = mc.client_for(alias).get_bucket_lifecycle(bucket)
    if config is None:
        raise mc.Fatal("Unable to get lifecycle. The lifecycle configuration does not exist")
    rules = []
    for rule in config.rules:
        item = {"ID": rule.rule_id or "", "Status": rule.status}
        expiry = rule.noncurrent_version_expiration
        if expiry is not None:
            item["NoncurrentVersionExpiration"] = {k: v for k, v in (
                ("NoncurrentDays", expiry.noncurrent_days),
                ("NewerNoncurrentVersions", expiry.newer_noncurrent_versions)) if v}
        rules.append(item)
    mc.emit({"status": "success", "target": paths[2], "config": {"Rules": rules}})
    return 0


def cmd_retention(flags: dict, args: list[str]) -> int:
    mc = core()
    options, paths = split_options(args)
    if paths[:1] != ["info"] or not options.get("--default") or len(paths) != 2:
        sys.stderr.write("mc: <ERROR> the test double implements only `mc retention info --default`\n")
        return 1
    alias, bucket, _ = mc.split_path(paths[1])
    try:
        config = mc.client_for(alias).get_object_lock_config(bucket)
    except S3Error as exc:
        raise mc.Fatal(f"Unable to get object lock configuration on the specified bucket. {exc.message}") from None
    value, unit = config.duration or 0, config.duration_unit or ""  # minio-go prints DAYS / YEARS
    sys.stdout.write(json.dumps({"op": "info", "enabled": "Enabled", "mode": config.mode or "",
                                 "validity": f"{value}{(unit or '').upper()}", "status": "success"}, indent=1) + "\n")
    return 0


HISTORY_COMMANDS = {"cp": cmd_cp, "ilm": cmd_ilm, "retention": cmd_retention}
