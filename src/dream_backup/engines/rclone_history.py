"""History with rclone 1.60 (Debian).

- `--s3-versions` lists old versions under rclone's version names (`key-vYYYY-MM-DD-HHMMSS-mmm.ext`);
  it shows no delete markers and no S3 version ids. The id this engine reports for a version is that
  rclone version tag (`v2026-11-28-010000-000`), derived from the version's time.
- `version_at` (set per remote, only on a read-only copy of the backup remote `backupat`) gives the state
  at T with rclone's own rule: the newest version not later than T, a delete marker hiding the key; that
  rule is inclusive, like ours (tests prove it against SeaweedFS with T equal to a version's second).
- With `version_at`, addressing a single object path returns nothing and exits 0, so reads and copies
  always name the directory and select keys with `--files-from-raw`."""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime

from dream_backup.engines import proc
from dream_backup.engines.base import BACKUP, CopyResult, Location, parse_time
from dream_backup.engines.history import UNKNOWN, History, Protection, Version, newest_first
from dream_backup.errors import EngineError

AT_REMOTE = "backupat"
_TAGGED = re.compile(r"^(?P<stem>.*)-v(?P<tag>\d{4}-\d\d-\d\d-\d{6}-\d{3})(?P<ext>\.[^./]*)?$")
LIST_FLAGS = ["--files-only", "--no-mimetype", "--use-server-modtime", "--hash", "--hash-type", "MD5"]


def version_tag(mtime: datetime | None) -> str:
    if mtime is None:
        return ""
    moment = mtime.astimezone(UTC)
    return moment.strftime("v%Y-%m-%d-%H%M%S-") + f"{moment.microsecond // 1000:03d}"


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class RcloneHistory(History):
    def _at_env(self, when: datetime | None) -> dict[str, str]:
        """The environment with a read-only remote `backupat` that sees the backup as it was at ``when``."""
        env = dict(self.env)
        if when is None:
            return env
        source = f"RCLONE_CONFIG_{BACKUP.upper()}_"
        for name, value in self.env.items():
            if name.startswith(source):
                env[f"RCLONE_CONFIG_{AT_REMOTE.upper()}_" + name[len(source):]] = value
        env[f"RCLONE_CONFIG_{AT_REMOTE.upper()}_VERSION_AT"] = rfc3339(when)
        return env

    def _run_env(self, args: list[str], env: dict, timeout: float | None = 600) -> proc.Finished:
        return proc.run([self.binary(), *args, *self.common], env, timeout)

    def scan_json(self, remote: str, env: dict, extra: list[str], what: str,
                  missing: str | None = None) -> Iterator[dict]:
        """The items of `lsjson -R` of ``remote``, parsed one line at a time (lsjson prints a JSON array
        with one object per line), so a listing of a million objects is never held whole. A missing
        directory lists nothing, or is the EngineError ``missing`` when given."""
        from dream_backup.engines.rclone import NETWORK_FLAGS  # noqa: PLC0415 - no import cycle

        listing = proc.Lines([self.binary(), "lsjson", "-R", *LIST_FLAGS, *extra, *NETWORK_FLAGS, remote,
                              *self.common], env, self.config.timeout)
        for printed in listing:
            line = printed.strip().rstrip(",")
            if line.startswith("{"):  # not the array's brackets
                yield json.loads(line)
        done = listing.finished
        if done.returncode == 3 and "directory not found" in done.stderr and not done.timed_out:
            if missing:
                raise EngineError(missing)
            return
        if done.timed_out or done.returncode != 0:
            raise EngineError(f"{what} failed: {self._reason(done)}")

    def _lsjson(self, remote: str, env: dict, extra: list[str], what: str) -> list[dict]:
        return list(self.scan_json(remote, env, extra, what))

    def list_versions(self, loc: Location) -> dict[str, list[Version]]:
        if loc.side == BACKUP and not self.bucket_exists(loc.side, loc.bucket):
            raise EngineError(f"bucket {loc.bucket} does not exist on {loc.side}")
        items = self._lsjson(self.remote(loc), self.env, ["--s3-versions"],
                             f"listing versions of {loc.side}/{loc.join()}")
        histories: dict[str, list[Version]] = {}
        current = set()
        for item in items:
            path, mtime = item["Path"], parse_time(item.get("ModTime"))
            md5 = (item.get("Hashes") or {}).get("md5") or None
            folder, _, name = path.rpartition("/")
            match = _TAGGED.match(name)
            # An old version only when rclone's tag equals its own time (a key may look like a tag).
            if match and version_tag(mtime) == "v" + match.group("tag"):
                key = (folder + "/" if folder else "") + match.group("stem") + (match.group("ext") or "")
                latest = False
            else:
                key, latest = path, True
                current.add(key)
            histories.setdefault(key, []).append(Version(key, version_tag(mtime), mtime, int(item["Size"]), md5,
                                                         latest=latest))
        for key, history in histories.items():
            if key not in current:  # rclone hides delete markers: the key's current version is one
                history.append(Version(key, "", None, 0, delete_marker=True, latest=True))
        return newest_first(histories)

    def scan_state_at(self, loc: Location, when: datetime) -> Iterator[Version]:
        for item in self.scan_json(f"{AT_REMOTE}:{loc.join()}", self._at_env(when), [],
                                   f"listing {loc.side}/{loc.join()} as of {rfc3339(when)}"):
            mtime = parse_time(item.get("ModTime"))
            yield Version(item["Path"], version_tag(mtime), mtime, int(item["Size"]),
                          (item.get("Hashes") or {}).get("md5") or None)

    def _keys_file(self, keys) -> str:
        handle, path = tempfile.mkstemp(prefix="keys-", dir=self.workdir)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            for key in keys:
                out.write(key + "\n")
        return path

    def copy_planned(self, src: Location, dst: Location, absent, present, when: datetime | None,
                     timeout: float) -> CopyResult:
        from dream_backup.engines.rclone import NETWORK_FLAGS  # noqa: PLC0415

        source = f"{AT_REMOTE}:{src.join()}" if when is not None else self.remote(src)
        keys = self._keys_file(v.key for plan in (absent, present) for v in plan.versions())
        # --ignore-times: copy every listed key, also over a same-size damaged object. The JSON log is
        # read as rclone writes it; the copied keys are counted, not kept (verification re-lists).
        args = ["copy", source, self.remote(dst), "--files-from-raw", keys, "--ignore-times", "--metadata",
                "--use-json-log", "-v", "--stats", "0", *NETWORK_FLAGS]
        try:
            log = proc.Lines([self.binary(), *args, *self.bandwidth_flags(), *self.common], self._at_env(when),
                             timeout, merge_stderr=True)
            result = self.parse_copy_log(log, on_event=lambda _entry: None, keep_keys=False)
            return self.settle(result, log.finished, timeout)
        finally:
            os.unlink(keys)

    @contextlib.contextmanager
    def cat_one(self, remote: str, path: str, env: dict):
        """`rclone cat` of the one object ``path`` below ``remote:`` with its name read from a key file,
        never from argv (any account can read /proc/*/cmdline; object keys are production data)."""
        from dream_backup.engines.rclone import NETWORK_FLAGS  # noqa: PLC0415

        folder, _, name = path.rpartition("/")
        keys = self._keys_file([name])
        try:
            with proc.stream([self.binary(), "cat", *self.common, *NETWORK_FLAGS, "--files-from-raw", keys,
                              f"{remote}:{folder}"], env) as running:
                yield running
        finally:
            os.unlink(keys)

    def open_version(self, loc: Location, version: Version, when: datetime | None):
        remote = AT_REMOTE if when is not None else loc.side
        return self.cat_one(remote, loc.join(version.key), self._at_env(when))

    def protection(self, bucket: str) -> Protection:
        why = "engine rclone cannot read it (rclone 1.60 has no lifecycle or object lock command)"
        return Protection(lifecycle=UNKNOWN, lock_mode=UNKNOWN, why_unknown=why)
