"""TEST DOUBLE of the MinIO client `mc` — not the MinIO client.

The real mc (archived upstream) cannot be downloaded here, so tests drive the mc engine with this
double. It follows docs/mc.md: `--version` names the basename of its own argv[0], global flags anywhere,
credentials from MC_HOST_<alias> parsed by mc's two regular expressions (session-token form first; raw,
no percent-decoding, the last '@' ends the credentials), config.json written into MC_CONFIG_DIR /
--config-dir / ~/.mc (fatal when not writable) and every certificate in its certs/CAs/ trusted for
https, JSON lines per object printed before the upload, multi-line error objects on stdout, the final
summary line always printed, copies that carry what mc's stream copy carries (carried_metadata: types,
Cache-Control, user metadata and lock fields, no tags), a mirror that stops at its first copy error
unless --skip-errors, exit code 1 on copy errors, "Overwrite not allowed" errors with exit 0, `ls` of a
bucket without a trailing '/' stats the bucket first, `stat` of a bucket needs `--no-list` (the double
has no admin API), `rm` of named objects as cmd/rm-main.go removes them, and — switchable — the silent
skips of real mc (AccessDenied on PUT is ignored: the success line is printed, nothing is uploaded,
exit 0).

Switches for tests live in `mc-double.json` beside the executable that runs this module:
  {"silent_skip": ["glob", ...], "fail_copy": ["glob", ...], "hang": true, "hang_in": ["ls", ...],
   "argv_log": "/path/file"}
(`fail_copy`: copying a matching key fails with an error object, as a server refusing it would;
`hang`: mirror never finishes; `hang_in`: the named commands never finish.)

It uses the minio SDK (it only runs where the tests run).
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import ssl
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import urllib3
from minio import Minio
from minio.error import S3Error
from minio.retention import Retention

from tests.support.mc_double_history import (
    HISTORY_COMMANDS,
    cmd_cat_history,
    cmd_ls_history,
    cmd_stat_history,
    has_option,
)

RELEASE = "RELEASE.2025-08-13T08-35-41Z"
GLOBAL_FLAGS = {"--json", "--no-color", "--quiet", "--insecure", "--debug"}
GLOBAL_WITH_VALUE = {"--config-dir", "--limit-upload", "--limit-download"}
ALIAS_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
# mc's own expressions for MC_HOST_<alias>, tried in this order: with a session token, then without.
# A ':' in the access key or the secret therefore shifts the split; the greedy group runs to the last '@'.
HOST_KEY_TOKENS = re.compile(r"^(https?://)(.*?):(.*?):(.*)@(.*?)\Z")
HOST_KEYS = re.compile(r"^(https?://)(.*?):(.*)@(.*?)\Z")
# What --limit-upload / --limit-download accept (a byte count, optionally with an SI or IEC unit).
RATE = re.compile(r"^\d+(\.\d+)?\s*([kmgtpe]i?b?|b)?\Z", re.IGNORECASE)


class Fatal(Exception):
    pass


class CopyRefused(Exception):
    """A copy that the `fail_copy` switch makes fail."""


def cause_of(exc: Exception) -> str:
    """An exception's text; an untrusted certificate worded as mc (Go's TLS stack) words it."""
    if "CERTIFICATE_VERIFY_FAILED" in str(exc):
        return "tls: failed to verify certificate: x509: certificate signed by unknown authority"
    return str(exc)


def switches() -> dict:
    path = Path(sys.argv[0]).resolve().parent / "mc-double.json"
    return json.loads(path.read_text()) if path.exists() else {}


def emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def emit_error(message: str, cause: str = "", fatal: bool = False) -> None:
    """Errors are indented over several lines even when stdout is not a terminal (docs/mc.md)."""
    body = {"status": "error", "error": {"message": message,
                                         "cause": {"message": cause or message, "error": {}},
                                         "type": "fatal" if fatal else "error"}}
    sys.stdout.write(json.dumps(body, indent=1) + "\n")
    sys.stdout.flush()


def split_flags(argv: list[str], with_value: set[str], is_switch: Callable[[str], bool],
                names: dict[str, str] | None = None) -> tuple[dict, list[str]]:
    """(flags with their values, the other arguments), read as mc's flag parser reads them: a flag in
    ``with_value`` takes the text after '=' or else the next argument; ``names`` maps an alias to the
    flag's own name. Used for the global flags and for one command's own flags."""
    names = names or {}
    flags: dict = {}
    rest: list[str] = []
    it = iter(argv)
    for token in it:
        name, eq, value = token.partition("=")
        if name in with_value:
            flags[names.get(name, name)] = value if eq else next(it, "")
        elif is_switch(token):
            flags[names.get(token, token)] = True
        else:
            rest.append(token)
    return flags, rest


CONFIG: dict = {}  # the run's config directory and global flags, set by write_config


def write_config(flags: dict) -> None:
    directory = Path(flags.get("--config-dir") or os.environ.get("MC_CONFIG_DIR")
                     or Path(os.environ.get("HOME", "/root")) / ".mc")
    try:
        (directory / "certs" / "CAs").mkdir(parents=True, exist_ok=True)
        (directory / "config.json").write_text(json.dumps({"version": "10", "aliases": {}}))
    except OSError as exc:
        raise Fatal(f"Unable to save new mc config. {exc.strerror}.") from None
    CONFIG.update(directory=directory, insecure=bool(flags.get("--insecure")))


def parse_host(value: str) -> tuple[str, str, str, str, str]:
    """scheme, access key, secret, session token, host[:port] of an MC_HOST_<alias> value, as mc reads it."""
    match = HOST_KEY_TOKENS.match(value)
    if match:
        scheme, access, secret, token, rest = match.groups()
    else:
        match = HOST_KEYS.match(value)
        if not match:
            raise Fatal("Invalid arguments provided, please refer `mc <command> -h` for relevant documentation.")
        (scheme, access, secret, rest), token = match.groups(), ""
    parts = urlsplit(scheme + rest)
    if parts.path not in ("", "/") or parts.query or parts.fragment or "?" in rest or "#" in rest:
        raise Fatal("Invalid arguments provided, please refer `mc <command> -h` for relevant documentation.")
    return scheme[:-3], access, secret, token, parts.netloc


def trusted_roots() -> ssl.SSLContext:
    """The system's roots plus every certificate in <config dir>/certs/CAs/, as mc loads them."""
    context = ssl.create_default_context()
    if CONFIG.get("insecure"):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    cas = Path(CONFIG["directory"]) / "certs" / "CAs" if CONFIG.get("directory") else None
    for path in sorted(cas.iterdir()) if cas and cas.is_dir() else []:
        if path.is_file():
            try:
                context.load_verify_locations(cafile=str(path))
            except (ssl.SSLError, ValueError):
                continue  # mc skips files that are not PEM certificates
    return context


def client_for(alias: str) -> Minio:
    if not alias or alias[0] not in ALIAS_CHARS - set("0123456789-_") or set(alias) - ALIAS_CHARS:
        raise Fatal(f"Invalid alias `{alias}`.")
    value = os.environ.get(f"MC_HOST_{alias}")
    if not value:
        raise Fatal(f"Unable to find alias `{alias}` (no MC_HOST_{alias} and no config entry).")
    scheme, access, secret, token, host = parse_host(value)
    http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=5, read=60), retries=urllib3.Retry(total=1),
                               ssl_context=trusted_roots() if scheme == "https" else None)
    return Minio(host, access_key=access, secret_key=secret, session_token=token or None,
                 secure=scheme == "https", region="us-east-1", http_client=http)


def split_path(path: str) -> tuple[str, str, str]:
    alias, _, rest = path.partition("/")
    bucket, _, key = rest.partition("/")
    return alias, bucket, key


def local_time(stamp: datetime | None) -> str:
    return (stamp or datetime.now().astimezone()).astimezone().isoformat()


def list_prefix(client: Minio, bucket: str, prefix: str) -> dict[str, object]:
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return {o.object_name[len(prefix):]: o for o in client.list_objects(bucket, prefix=prefix or None,
                                                                            recursive=True)
            if not o.is_dir}


def cmd_ls(flags: dict, args: list[str]) -> int:
    if "--versions" in args or has_option(args, "--rewind"):
        return cmd_ls_history(flags, args)
    paths = [a for a in args if not a.startswith("-")]
    alias, bucket, key = split_path(paths[0])
    client = client_for(alias)
    # mc stats `alias/bucket` (no trailing '/') before it lists; `alias/bucket/` goes straight to listing.
    exists = client.bucket_exists(bucket) if "/" not in paths[0].partition("/")[2] else None
    if exists is None:
        try:
            entries = sorted(list_prefix(client, bucket, key).items())
        except S3Error as exc:
            if exc.code != "NoSuchBucket":
                raise
            exists = False
    if exists is False:
        emit_error(f"Unable to list folder. Bucket `{bucket}` does not exist.", "The specified bucket does not exist")
        return 1
    if exists:
        entries = sorted(list_prefix(client, bucket, key).items())
    for rel, obj in entries:
        emit({"status": "success", "type": "file", "lastModified": local_time(obj.last_modified),
              "size": obj.size, "key": rel, "etag": (obj.etag or "").strip('"'),
              "url": f"{alias}/{bucket}/", "versionId": obj.version_id or "", "storageClass": "STANDARD"})
    return 0


def cmd_cat(flags: dict, args: list[str]) -> int:
    if has_option(args, "--rewind", "--version-id", "--vid"):
        return cmd_cat_history(flags, args)
    alias, bucket, key = split_path(args[0])
    try:
        response = client_for(alias).get_object(bucket, key)
    except S3Error as exc:
        sys.stderr.write(f"mc: <ERROR> Unable to read from `{args[0]}`. {exc.message}\n")
        return 1
    return write_stream(response)


def write_stream(response) -> int:
    """An object's bytes to stdout as they arrive (mc cat), then the connection back to the pool."""
    try:
        for block in response.stream(1024 * 1024):
            sys.stdout.buffer.write(block)
    finally:
        response.close()
        response.release_conn()
    sys.stdout.buffer.flush()
    return 0


def cmd_stat(flags: dict, args: list[str]) -> int:
    if has_option(args, "--rewind", "--version-id", "--vid"):
        return cmd_stat_history(flags, args)
    paths = [a for a in args if not a.startswith("-")]
    alias, bucket, key = split_path(paths[0])
    client = client_for(alias)
    if not client.bucket_exists(bucket):
        emit_error(f"Unable to stat `{paths[0]}`. Bucket `{bucket}` does not exist.")
        return 1
    if not key:
        if "--no-list" not in args:
            # Real mc also asks the admin data-usage API here; the double has none, so it refuses.
            emit_error(f"Unable to stat `{paths[0]}`. The test double has no admin data-usage API; "
                       "use --no-list.")
            return 1
        emit({"status": "success", "name": bucket, "type": "folder", "lastModified": local_time(None),
              "size": 0, "metadata": {}})
        return 0
    try:
        st = client.stat_object(bucket, key)
    except S3Error:
        emit_error(f"Unable to stat `{paths[0]}`. Object does not exist.")
        return 1
    emit({"status": "success", "name": key, "lastModified": local_time(st.last_modified), "size": st.size,
          "etag": (st.etag or "").strip('"'), "type": "file", "metadata": dict(st.metadata or {}),
          "versionID": st.version_id or "", "checksum": {}})
    return 0


def cmd_mb(flags: dict, args: list[str]) -> int:
    ignore = "--ignore-existing" in args or "-p" in args
    paths = [a for a in args if not a.startswith("-")]
    alias, bucket, _ = split_path(paths[0])
    client = client_for(alias)
    if client.bucket_exists(bucket):
        if not ignore:
            emit_error(f"Unable to make bucket `{paths[0]}`. Your previous request to create the named bucket "
                       "succeeded and you already own it.")
            return 1
    else:
        client.make_bucket(bucket)
    emit({"status": "success", "bucket": paths[0], "region": "us-east-1"})
    return 0


def cmd_version(flags: dict, args: list[str]) -> int:
    if not args or args[0] != "info":
        sys.stderr.write("mc: <ERROR> the test double implements only `mc version info`\n")
        return 1
    paths = [a for a in args[1:] if not a.startswith("-")]
    alias, bucket, _ = split_path(paths[0])
    client = client_for(alias)
    if not client.bucket_exists(bucket):
        emit_error(f"Unable to get versioning info for `{paths[0]}`. Bucket `{bucket}` does not exist.")
        return 1
    status = client.get_bucket_versioning(bucket).status or ""
    status = "" if status == "Off" else status
    if flags.get("--json"):
        emit({"Op": "info", "status": "success", "url": paths[0],
              "versioning": {"status": status, "MFADelete": ""}})
    elif status:
        print(f"{paths[0]} versioning is {status.lower()}")
    else:
        print(f"{paths[0]} is un-versioned")
    return 0


# What mc carries from a GET response to the PUT of its copy between two servers: minio-go's
# extractObjMetadata keeps the headers starting with these (v7.0.90, utils.go); mc's uploadSourceToTargetURL
# (cmd/common-methods.go) hands them to S3Client.Put (cmd/client-s3.go), which turns them back into headers.
GET_HEADERS_KEPT = ("Content-Type", "Cache-Control", "Content-Encoding", "Content-Language", "Content-Disposition",
                    "X-Amz-Storage-Class", "X-Amz-Object-Lock-Mode", "X-Amz-Object-Lock-Retain-Until-Date",
                    "X-Amz-Object-Lock-Legal-Hold", "X-Amz-Website-Redirect-Location",
                    "X-Amz-Server-Side-Encryption", "X-Amz-Tagging-Count", "X-Amz-Meta-")


def canonical(name: str) -> str:
    """Go's http.CanonicalHeaderKey: mc sends x-amz-meta-author as X-Amz-Meta-Author."""
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def carried_metadata(headers) -> tuple[str, dict[str, str]]:
    """(Content-Type, the other headers the copy is PUT with) from the source's GET response, as mc does
    it: tags only come with a header named exactly X-Amz-Tagging, which S3 never sends on GET (it sends
    X-Amz-Tagging-Count; MinIO sends the tags to `--preserve` alone, SeaweedFS as X-Amz-Tagging-<key>),
    so tags are not copied; X-Amz-Tagging-Count and the storage class are dropped. The object lock
    fields (a locked backup's GET answers them) are returned too: copy_object puts them as mc's Put does."""
    kept = {canonical(k): v for k, v in headers.items() if canonical(k).startswith(GET_HEADERS_KEPT)}
    content_type = kept.pop("Content-Type", "") or "application/octet-stream"
    for dropped in ("X-Amz-Storage-Class", "X-Amz-Tagging-Count"):
        kept.pop(dropped, None)
    kept = {k: v for k, v in kept.items() if not k.startswith("X-Amz-Server-Side-Encryption")}
    return content_type, kept


def copy_object(src: Minio, sbucket: str, skey: str, dst: Minio, dbucket: str, dkey: str,
                version_id: str | None = None) -> None:
    """Stream one object (its latest or one exact version) across servers with the metadata mc carries
    (carried_metadata); minio-go uploads in parts from 16 MiB on."""
    response = src.get_object(sbucket, skey, version_id=version_id)
    try:
        content_type, headers = carried_metadata(response.headers)
        mode, until = headers.pop("X-Amz-Object-Lock-Mode", ""), headers.pop("X-Amz-Object-Lock-Retain-Until-Date", "")
        hold = headers.pop("X-Amz-Object-Lock-Legal-Hold", "")
        retention = Retention(mode.upper(), datetime.fromisoformat(until.replace("Z", "+00:00"))) \
            if mode and until else None
        size = int(response.headers["Content-Length"])
        dst.put_object(dbucket, dkey, response, size, content_type=content_type, metadata=headers,
                       part_size=16 * 1024 * 1024, retention=retention, legal_hold=hold.upper() == "ON")
    finally:
        response.close()
        response.release_conn()


def cmd_mirror(flags: dict, args: list[str]) -> int:
    options = {a for a in args if a.startswith("--")}
    paths = [a for a in args if not a.startswith("-")]
    overwrite, remove, dry = "--overwrite" in options, "--remove" in options, "--dry-run" in options
    skip_errors = "--skip-errors" in options
    config = switches()
    if config.get("hang"):
        time.sleep(3600)
    started = time.monotonic()
    salias, sbucket, sprefix = split_path(paths[0].rstrip("/"))
    dalias, dbucket, dprefix = split_path(paths[1].rstrip("/"))
    src, dst = client_for(salias), client_for(dalias)
    try:
        if not src.bucket_exists(sbucket):
            emit_error(f"Unable to list `{paths[0]}`. Bucket `{sbucket}` does not exist.", fatal=True)
            raise Fatal("")
        source = list_prefix(src, sbucket, sprefix)
        if not dst.bucket_exists(dbucket):
            emit_error(f"Unable to mirror to `{paths[1]}`. Bucket `{dbucket}` does not exist.", fatal=True)
            raise Fatal("")
        target = list_prefix(dst, dbucket, dprefix)
    except Fatal:
        return 1  # an early fatal error: mc prints no summary line
    except Exception as exc:  # noqa: BLE001 - a server that does not answer
        emit_error("Failed to perform mirror operation.", cause_of(exc), fatal=True)
        return 1

    def join(prefix: str, rel: str) -> str:
        return f"{prefix}/{rel}" if prefix else rel

    errors, count, total, transferred = 0, 0, 0, 0
    failing = config.get("fail_copy", [])
    for rel, obj in sorted(source.items()):
        if errors and not skip_errors:
            break  # mc cancels the whole mirror at its first error unless --skip-errors
        have = target.get(rel)
        dkey = join(dprefix, rel)
        if have is not None:
            newer = obj.last_modified and have.last_modified and obj.last_modified > have.last_modified
            if have.size == obj.size and not newer:
                continue  # same size, not newer: mc never compares ETags (docs/mc.md)
            if not overwrite:
                emit_error(f"Failed to copy `{salias}/{sbucket}/{join(sprefix, rel)}`.",
                           f"Overwrite not allowed for `{dalias}/{dbucket}/{dkey}`. Use `--overwrite` to override "
                           "this behavior.")
                continue
        count += 1
        total += obj.size
        if dry:
            continue
        emit({"status": "success", "source": f"{salias}/{sbucket}/{join(sprefix, rel)}",
              "target": f"{dalias}/{dbucket}/{dkey}", "size": obj.size, "totalCount": count,
              "totalSize": total, "eventTime": "", "eventType": ""})
        if any(fnmatch.fnmatch(rel, pattern) for pattern in config.get("silent_skip", [])):
            continue  # real mc ignores AccessDenied on PUT since 2023-12: nothing uploaded, nothing said
        try:
            if any(fnmatch.fnmatch(rel, pattern) for pattern in failing):
                raise CopyRefused("Access Denied.")  # what a server refusing the PUT answers
            copy_object(src, sbucket, join(sprefix, rel), dst, dbucket, dkey)
            transferred += obj.size
        except Exception as exc:  # noqa: BLE001
            errors += 1
            emit_error(f"Failed to copy `{salias}/{sbucket}/{join(sprefix, rel)}`.", str(exc))
    if remove and not dry and (skip_errors or not errors):
        for rel in sorted(set(target) - set(source)):
            if errors and not skip_errors:
                break
            dkey = join(dprefix, rel)
            try:
                dst.remove_object(dbucket, dkey)
                emit({"status": "success", "source": "", "target": f"{dalias}/{dbucket}/{dkey}", "size": 0,
                      "totalCount": count, "totalSize": total, "eventTime": "", "eventType": ""})
            except Exception as exc:  # noqa: BLE001
                errors += 1
                emit_error(f"Failed to remove `{dalias}/{dbucket}/{dkey}`.", str(exc))
    duration = time.monotonic() - started
    emit({"status": "success", "total": total, "transferred": transferred, "duration": int(duration * 1e9),
          "speed": transferred / duration if duration else 0})
    return 1 if errors else 0


def cmd_rm(flags: dict, args: list[str]) -> int:
    """`mc rm TARGET...` of named objects (cmd/rm-main.go, removeSingle): each target is stat'ed first;
    one that is missing prints "Failed to remove" and the others are still removed (exit 1 at the end);
    a target that is a folder is refused without --recursive; each removal prints an indented JSON object
    (rmMessage, json.MarshalIndent with one space). The bulk forms are not in the double."""
    if has_option(args, "--recursive", "-r", "--versions", "--stdin", "--rewind", "--version-id", "--vid",
                  "--incomplete", "-I", "--older-than", "--newer-than", "--purge"):
        sys.stderr.write("mc: <ERROR> the test double implements `mc rm` of named objects only\n")
        return 1
    dry = "--dry-run" in args or "--fake" in args
    paths = [a for a in args if not a.startswith("-")]
    if not paths:
        sys.stderr.write("mc: <ERROR> rm needs at least one TARGET\n")
        return 1
    for path in paths:  # checkRmSyntax: a folder without --recursive stops the command before any removal
        alias, bucket, key = split_path(path)
        client = client_for(alias)
        folder = not key or key.endswith("/") or (
            not _exists(client, bucket, key) and any(True for _ in client.list_objects(bucket, prefix=key + "/")))
        if folder:
            raise Fatal("Removal requires --recursive flag. This operation is *IRREVERSIBLE*. Please review "
                        "carefully before performing this *DANGEROUS* operation.")
    failed = False
    for path in paths:
        alias, bucket, key = split_path(path)
        client = client_for(alias)
        if not _exists(client, bucket, key):
            emit_error(f"Failed to remove `{path}`.", "Object does not exist.")
            failed = True
            continue
        versioned = (client.get_bucket_versioning(bucket).status or "") == "Enabled"
        message = {"status": "success", "key": f"{alias}/{bucket}/{key}", "deleteMarker": False,
                   "versionID": "", "modTime": None, "dryRun": dry}
        if not dry:
            client.remove_object(bucket, key)
            if versioned:  # a versioned bucket keeps the object and gets a delete marker on top
                latest = next((o for o in client.list_objects(bucket, prefix=key, include_version=True)
                               if o.object_name == key and o.is_latest == "true"), None)
                message.update(deleteMarker=True, versionID=latest.version_id if latest else "")
        sys.stdout.write(json.dumps(message, indent=1) + "\n")
        sys.stdout.flush()
    return 1 if failed else 0


def _exists(client: Minio, bucket: str, key: str) -> bool:
    try:
        client.stat_object(bucket, key)
    except S3Error:
        return False
    return True


COMMANDS = {"ls": cmd_ls, "cat": cmd_cat, "stat": cmd_stat, "mb": cmd_mb, "version": cmd_version,
            "mirror": cmd_mirror, "rm": cmd_rm}
COMMANDS.update(HISTORY_COMMANDS)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    log = switches().get("argv_log")
    if log:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(["mc", *argv]) + "\n")
    if "--version" in argv:
        # Like mc: the name is the basename of argv[0], whatever the file is called.
        print(f"{Path(sys.argv[0]).name} version {RELEASE} (commit-id=mc-test-double)")
        print("Runtime: python (TEST DOUBLE of the MinIO client, tests/support/mc_double.py)")
        return 0
    flags, rest = split_flags(argv, GLOBAL_WITH_VALUE, GLOBAL_FLAGS.__contains__)
    for name in ("--limit-upload", "--limit-download"):
        if name in flags and not RATE.match(flags[name]):
            sys.stderr.write(f"mc: <ERROR> Unable to parse {name} value `{flags[name]}`.\n")
            return 1
    if rest and rest[0] in switches().get("hang_in", []):
        time.sleep(3600)
    if not rest or rest[0] not in COMMANDS:
        sys.stderr.write(f"mc: <ERROR> '{rest[0] if rest else ''}' is not a command of the test double.\n")
        return 1
    try:
        write_config(flags)
        return COMMANDS[rest[0]](flags, rest[1:])
    except Fatal as exc:
        emit_error(str(exc), fatal=True)
        return 1
    except S3Error as exc:
        emit_error(f"{exc.code}: {exc.message}", fatal=True)
        return 1
    except urllib3.exceptions.HTTPError as exc:
        emit_error("Unable to reach the server.", cause_of(exc), fatal=True)
        return 1


def install(directory: Path, repo: Path, python: str = sys.executable, name: str = "mc") -> Path:
    """Write an executable ``name`` into ``directory`` that runs this double (for MC_PATH in tests)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(f"#!{python}\n# TEST DOUBLE of the MinIO client (tests/support/mc_double.py)\n"
                    f"import sys\nsys.path.insert(0, {str(repo)!r})\n"
                    "from tests.support.mc_double import main\nsys.exit(main())\n")
    path.chmod(0o755)
    return path


if __name__ == "__main__":
    sys.exit(main())
