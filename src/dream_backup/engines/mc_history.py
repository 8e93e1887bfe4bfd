"""History with mc: `ls --versions` lists every version (delete markers included, latest first within a
key); the program picks the version current at T itself (mc's `--rewind` means "strictly before T" in
the machine's local time zone, which is not the inclusive rule restores promise) and copies each chosen
object with `cp --version-id`, a few at a time."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from itertools import chain

from dream_backup import bounded, pointintime
from dream_backup.engines import proc
from dream_backup.engines.base import CopyResult, Location, iter_json_objects, last_line, parse_time
from dream_backup.engines.history import History, Protection, Version, newest_first
from dream_backup.errors import EngineError

PARALLEL_COPIES = 4
NO_VERSION = ("", "null")  # objects written while the bucket was unversioned


def _error_text(obj: dict) -> str:
    error = obj.get("error") or {}
    if not isinstance(error, dict):
        return str(error)
    message = error.get("message", "")
    cause = error.get("cause") or {}
    cause_message = cause.get("message", "") if isinstance(cause, dict) else ""
    return f"{message} ({cause_message})" if cause_message and cause_message != message else message


def _version(item: dict, latest: bool) -> Version:
    """A Version from one line of `mc ls --versions --json`."""
    etag = (item.get("etag") or "").strip('"')
    marker = bool(item.get("isDeleteMarker"))
    return Version(key=item["key"], version_id=item.get("versionId") or "",
                   mtime=parse_time(item.get("lastModified")), size=0 if marker else int(item.get("size") or 0),
                   md5=etag if len(etag) == 32 and "-" not in etag else None, delete_marker=marker, latest=latest)


def _current(history: list[Version], when: datetime) -> Iterator[Version]:
    if history:
        version = pointintime.pick(newest_first({history[0].key: history})[history[0].key], when)
        if version is not None:
            yield version


class McHistory(History):
    copies_by_version_id = True

    def _errors_of(self, done) -> list[str]:
        found = [self.scrub(_error_text(o)) for o in iter_json_objects(done.stdout) if o.get("status") == "error"]
        if not found and done.returncode != 0:
            found.append(last_line(done.stderr, self.scrub) or f"mc exited with {done.returncode}")
        return found

    def list_versions(self, loc: Location) -> dict[str, list[Version]]:
        path = self.target(loc) + ("/" if loc.path else "")
        done = self._run(["ls", "--versions", "--recursive", "--json", path])
        errors = self._errors_of(done)
        if errors:
            if "does not exist" in errors[0].lower() or "NoSuchBucket" in errors[0]:
                raise EngineError(f"bucket {loc.bucket} does not exist on {loc.side}")
            raise EngineError(f"listing versions of {loc.side}/{loc.join()} failed: {errors[0]}")
        histories: dict[str, list[Version]] = {}
        for item in iter_json_objects(done.stdout):
            if item.get("status") == "success" and item.get("type") == "file":
                version = _version(item, latest=item["key"] not in histories)  # mc prints the latest first
                histories.setdefault(version.key, []).append(version)
        return newest_first(histories)

    def scan_state_at(self, loc: Location, when: datetime) -> Iterator[Version]:
        """mc prints every version of a key together (latest first): one key's history at a time is held,
        and the version current at ``when`` picked from it."""
        history: list[Version] = []
        args = ["ls", "--versions", "--recursive", "--json", self.target(loc) + "/"]
        for item in self.scan_items(args, loc, f"listing versions of {loc.side}/{loc.join()}"):
            if item.get("type") != "file":
                continue
            if history and item["key"] != history[0].key:
                yield from _current(history, when)
                history = []
            history.append(_version(item, latest=not history))
        yield from _current(history, when)

    def _copy_one(self, src: Location, dst: Location, version: Version, use_id: bool, timeout: float):
        args = ["cp", "--json", *self.bandwidth_flags()]
        if use_id and version.version_id not in NO_VERSION:
            args += ["--version-id", version.version_id]
        done = self._run([*args, self.target(src, version.key), self.target(dst, version.key)], timeout)
        if done.timed_out:
            return version.key, f"mc cp stopped after the timeout of {timeout:.0f}s"
        errors = self._errors_of(done)
        return version.key, (errors[0][:500] if errors else None)

    def _copy_each(self, src: Location, dst: Location, versions, use_id: bool, timeout: float,
                   result: CopyResult) -> None:
        """One `mc cp` per version, PARALLEL_COPIES at a time (bounded.py: the plan is read as they go)."""
        for key, error in bounded.unordered(lambda v: self._copy_one(src, dst, v, use_id, timeout), versions,
                                            PARALLEL_COPIES):
            if error:
                result.add_error(f"{key}: {error}")
            else:
                result.add_copied(key)

    def copy_planned(self, src: Location, dst: Location, absent, present, when: datetime | None,
                     timeout: float) -> CopyResult:
        """Latest versions: one `mc mirror` without --overwrite copies exactly the keys the destination
        lacks (a present key is left alone), then each key to replace gets its own `mc cp` (mirror's
        --overwrite would also re-copy every identical key whose backup copy is newer, and skip a
        same-size damaged copy that is newer than the backup's). Versions of another time: `mc cp
        --version-id` per key (mc's mirror has neither --rewind nor --version-id)."""
        if when is None and len(absent):
            result = self.copy(src, dst, remove=False, overwrite=False, timeout=timeout,
                               on_event=lambda _obj: None, keep_keys=False)
            versions = present.versions()
        else:
            result = CopyResult(keep_keys=False)
            versions = chain(absent.versions(), present.versions())
        self._copy_each(src, dst, versions, when is not None, timeout, result)
        return result

    def open_version(self, loc: Location, version: Version, when: datetime | None):
        args = [self.binary(), "--no-color", "cat"]
        if when is not None and version.version_id not in NO_VERSION:
            args += ["--version-id", version.version_id]
        return proc.stream([*args, self.target(loc, version.key)], self.env)

    def _json_call(self, args: list[str]) -> tuple[dict | None, str]:
        done = self._run(args)
        objects = list(iter_json_objects(done.stdout))
        for obj in objects:
            if obj.get("status") == "error":
                return None, self.scrub(_error_text(obj))
        if done.returncode != 0 or not objects:
            return None, last_line(done.stderr, self.scrub) or f"mc exited with {done.returncode}"
        return objects[0], ""

    def protection(self, bucket: str) -> Protection:
        found = Protection()
        url = f"{self.target(Location('backup', bucket))}"
        rules, error = self._json_call(["ilm", "rule", "ls", "--json", url])
        if rules is not None:
            found.lifecycle = "none"
            for rule in ((rules.get("config") or {}).get("Rules") or []):
                expiry = rule.get("NoncurrentVersionExpiration") or {}
                if rule.get("Status", "Enabled") == "Enabled" and expiry.get("NoncurrentDays"):
                    found.lifecycle = "rule"
                    found.noncurrent_days = int(expiry["NoncurrentDays"])
                    found.keep_newer = int(expiry.get("NewerNoncurrentVersions") or 0) or None
        elif re.search(r"lifecycle configuration (does not exist|not set|not found)|NoSuchLifecycle", error, re.I):
            found.lifecycle = "none"
        else:
            found.why_unknown = f"mc could not read the lifecycle: {error}"
        lock, error = self._json_call(["retention", "info", "--default", "--json", url])
        if lock is not None:
            mode = lock.get("mode") or ""
            found.lock_mode = mode or "off"
            days = re.match(r"^(\d+)(DAYS|YEARS)$", lock.get("validity") or "")
            if mode and days:
                found.lock_days = int(days.group(1)) * (365 if days.group(2) == "YEARS" else 1)
        elif re.search(r"object lock configuration (does not exist|not found)|ObjectLockConfigurationNotFound",
                       error, re.I):
            found.lock_mode = "off"
        else:
            found.why_unknown = (found.why_unknown + "; " if found.why_unknown else "") + \
                f"mc could not read the object lock: {error}"
        return found
