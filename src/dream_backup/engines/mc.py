"""The mc engine (the runbook's default; archived upstream, see docs/mc.md). Credentials travel as
MC_HOST_<alias> variables in the child's environment; mc writes its config.json into a private
directory of this run. mc's exit code and JSON are not proof of a complete mirror (it skips some
failures silently): the backup command verifies the target after every mirror.

Region and provider: MC_HOST_<alias> has no field for either, and mc has no per-alias region setting;
mc asks each bucket for its location (GetBucketLocation) and signs for that region, and it detects
the server's flavour itself. MINIO_SOURCE_REGION, BACKUP_TARGET_REGION and BACKUP_S3_PROVIDER are
validated but not passed to mc."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from urllib.parse import urlsplit

from dream_backup import trust
from dream_backup.engines import proc
from dream_backup.engines.base import (
    BACKUP,
    SOURCE,
    CopyResult,
    Engine,
    Location,
    Obj,
    iter_json_lines,
    iter_json_objects,
    parse_time,
)
from dream_backup.engines.mc_history import McHistory
from dream_backup.errors import ConfigError, EngineError

OVERWRITE_NOT_ALLOWED = "Overwrite not allowed"
RM_BATCH = 200  # object names per `mc rm`
# mc names itself by the basename of its argv[0], so MC_PATH may have any file name.
VERSION_LINE = re.compile(r"^\S+ version RELEASE\.\S+")


def mc_host(url: str, access_key: str, secret_key: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{access_key}:{secret_key}@{parts.netloc}"


def error_text(obj: dict) -> str:
    """The message of an mc error object, with its cause when there is one."""
    error = obj.get("error") or {}
    message = error.get("message", "") if isinstance(error, dict) else str(error)
    cause = error.get("cause", {}) if isinstance(error, dict) else {}
    cause_message = cause.get("message", "") if isinstance(cause, dict) else ""
    return f"{message} ({cause_message})" if cause_message and cause_message != message else message


class McEngine(McHistory, Engine):
    name = "mc"
    copies_lock_settings = True

    def __init__(self, config, scrub):
        super().__init__(config, scrub)
        config_dir = os.path.join(self.workdir, "mc")
        os.makedirs(os.path.join(config_dir, "certs", "CAs"), mode=0o700)
        if config.ca_file:
            shutil.copy(config.ca_file, os.path.join(config_dir, "certs", "CAs", "backup-ca.crt"))
        self.env = proc.child_env(self.workdir, {
            "MC_CONFIG_DIR": config_dir,
            "MC_HOST_" + SOURCE: mc_host(config.source.url, config.source.access_key, config.source.secret_key),
            "MC_HOST_" + BACKUP: mc_host(config.target.url, config.target.access_key, config.target.secret_key),
        })

    def configured_binary(self) -> str:
        return self.config.mc_path

    def bandwidth_flags(self) -> list[str]:
        # A bare number is bytes/s to mc (the configured rate is already in bytes).
        return ["--limit-upload", str(self.config.bandwidth)] if self.config.bandwidth else []

    def _run(self, args: list[str], timeout: float | None = None) -> proc.Finished:
        return proc.run([self.binary(), "--no-color", *args], self.env, timeout or self.config.timeout)

    def _reason(self, done: proc.Finished) -> str:
        """The first error object mc printed, else why the process itself failed."""
        if done.timed_out:
            return self.process_failure(done, self.config.timeout)
        errors = self._errors(done.stdout)
        return errors[0] if errors else self.process_failure(done, self.config.timeout)

    def require_binary(self) -> str:
        self.checked_binary = trust.check_binary(self.configured_binary(), "mc")
        try:
            done = proc.run([self.binary(), "--version"], self.env, 30)
        except OSError:
            raise ConfigError(f"mc binary {self.configured_binary()} is missing or not executable") from None
        first = done.stdout.splitlines()[0] if done.stdout else ""
        if done.returncode != 0 or not VERSION_LINE.match(first):
            raise ConfigError(f"{self.configured_binary()} is not the MinIO client ('--version' printed "
                              f"{first[:80]!r}; Debian's 'mc' package is Midnight Commander)")
        return first

    @staticmethod
    def target(loc: Location, key: str = "") -> str:
        return f"{loc.side}/{loc.join(key)}"

    def _errors(self, stdout: str) -> list[str]:
        return [self.scrub(error_text(o)) for o in iter_json_objects(stdout) if o.get("status") == "error"]

    def scan_items(self, args: list[str], loc: Location, what: str) -> Iterator[dict]:
        """The success objects of an `ls ... --json` run, one line at a time. mc prints one JSON object per
        line for each object; its error objects may span lines, so whatever does not parse as a line is
        kept (bounded) and searched for errors at the end."""
        listing = proc.Lines([self.binary(), "--no-color", *args], self.env, self.config.timeout)
        rest: list[str] = []
        kept = 0
        for line in listing:
            try:
                item = json.loads(line) if line.startswith("{") else None
            except ValueError:
                item = None
            if not isinstance(item, dict) or item.get("status") != "success":
                if kept < proc.STDERR_KEEP:
                    rest.append(line)
                    kept += len(line)
                continue
            yield item
        done = listing.finished
        done.stdout = "".join(rest)
        if done.timed_out or self._errors(done.stdout) or done.returncode != 0:
            reason = self._reason(done)
            if not done.timed_out and ("does not exist" in reason.lower() or "NoSuchBucket" in reason):
                raise EngineError(f"bucket {loc.bucket} does not exist on {loc.side}")
            raise EngineError(f"{what} failed: {reason}")

    def scan(self, loc: Location) -> Iterator[Obj]:
        # Always with a trailing '/': `alias/bucket` without it makes mc stat the bucket first.
        for item in self.scan_items(["ls", "--recursive", "--json", self.target(loc) + "/"], loc,
                                    f"listing {loc.side}/{loc.join()}"):
            if item.get("type") != "file":
                continue
            etag = (item.get("etag") or "").strip('"')
            md5 = etag if len(etag) == 32 and "-" not in etag else None  # multipart ETags are not MD5s
            yield Obj(item["key"], int(item.get("size", 0)), parse_time(item.get("lastModified")), md5)

    def bucket_exists(self, side: str, bucket: str) -> bool:
        # --no-list: without it mc also asks the server's admin data-usage API about the bucket.
        done = self._run(["stat", "--no-list", "--json", f"{side}/{bucket}"])
        if not done.timed_out and not self._errors(done.stdout) and done.returncode == 0:
            return True
        reason = self._reason(done)
        if not done.timed_out and ("does not exist" in reason.lower() or "NoSuchBucket" in reason):
            return False
        raise EngineError(f"checking bucket {side}/{bucket} failed: {reason}")

    def versioning(self, bucket: str) -> str:
        done = self._run(["version", "info", "--json", f"{BACKUP}/{bucket}"])
        if done.timed_out:
            raise EngineError(f"reading versioning of backup/{bucket} failed: {self._reason(done)}")
        for obj in iter_json_objects(done.stdout):
            if obj.get("status") == "error":
                raise EngineError(f"reading versioning of backup/{bucket} failed: {self.scrub(error_text(obj))}")
            if "versioning" in obj:
                return (obj.get("versioning") or {}).get("status", "")
        raise EngineError(f"reading versioning of backup/{bucket} failed: {self._reason(done)}")

    def make_bucket(self, side: str, bucket: str) -> None:
        done = self._run(["mb", "--ignore-existing", "--json", f"{side}/{bucket}"])
        if done.timed_out or self._errors(done.stdout) or done.returncode != 0:
            raise EngineError(f"creating bucket {side}/{bucket} failed: {self._reason(done)}")

    def delete_keys(self, loc: Location, keys: list[str], timeout: float) -> CopyResult:
        # `mc rm` of named objects (no --recursive: a name that is a folder is refused by mc, never
        # emptied); a batch of names per process keeps argv short. mc prints one (indented) JSON object
        # per removed object and an error object for each name it could not remove, then exits 1.
        result = CopyResult()
        for start in range(0, len(keys), RM_BATCH):
            batch = keys[start:start + RM_BATCH]
            done = self._run(["rm", "--json", *[self.target(loc, key) for key in batch]], timeout)
            for obj in iter_json_objects(done.stdout):
                if obj.get("status") == "error":
                    result.add_error(self.scrub(error_text(obj))[:500])
                elif obj.get("status") == "success" and obj.get("key"):
                    result.deleted += 1
                    result.events.append(obj)
            self.settle(result, done, timeout)
            if done.timed_out:
                break
        return result

    def copy(self, src: Location, dst: Location, *, remove: bool, overwrite: bool, timeout: float,
             on_event=None, keep_keys: bool = True) -> CopyResult:
        # --skip-errors: without it mc cancels the whole mirror at the first object that fails, so one bad
        # object would keep every later one from the backup. mc still reports each failure and exits 1.
        args = ["mirror", "--json", "--skip-errors"]
        if overwrite:
            args.append("--overwrite")
        if remove:
            args.append("--remove")
        # mc's JSON is read while mc writes it: a first backup of a million objects never holds it whole.
        output = proc.Lines([self.binary(), "--no-color", *args, *self.bandwidth_flags(), self.target(src),
                             self.target(dst)], self.env, timeout or self.config.timeout)
        result = CopyResult(keep_keys=keep_keys)
        deliver = on_event or result.events.append
        source_prefix = self.target(src) + "/"
        for obj in iter_json_lines(output):
            status = obj.get("status")
            if status == "error":
                text = error_text(obj)
                if not overwrite and OVERWRITE_NOT_ALLOWED in text:
                    continue  # a restore without overwrite: present at the destination, left alone
                result.add_error(self.scrub(text)[:500])
            elif status == "success" and obj.get("source"):
                source = obj["source"]
                result.add_copied(source[len(source_prefix):] if source.startswith(source_prefix) else source)
                deliver(obj)
            elif status == "success" and obj.get("target") and "total" not in obj:
                result.deleted += 1
                deliver(obj)
        return self.settle(result, output.finished, timeout)

    def open(self, loc: Location, key: str):
        return proc.stream([self.binary(), "--no-color", "cat", self.target(loc, key)], self.env)
