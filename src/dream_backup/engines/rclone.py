"""The rclone engine (maintained; Debian's package). Remotes come from RCLONE_CONFIG_<NAME>_* variables
with an empty config file, so credentials live only in the child's environment."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

from dream_backup import trust
from dream_backup.engines import proc
from dream_backup.engines.base import BACKUP, SOURCE, CopyResult, Engine, Location, Obj, last_line, parse_time
from dream_backup.engines.rclone_history import RcloneHistory
from dream_backup.errors import ConfigError, EngineError

# Retries bounded so that an unreachable server fails the bucket in minutes, not hours.
# The providers rclone 1.60 asks for URL-encoded listings (its provider quirks, backend/s3 setQuirks);
# with any other BACKUP_S3_PROVIDER a key holding a character XML cannot carry is listed with U+FFFD.
URL_ENCODED_LISTINGS = frozenset({"AWS", "Alibaba", "Cloudflare", "IDrive", "LyveCloud", "Minio", "RackCorp",
                                  "Storj", "TencentCOS", "Wasabi"})
NETWORK_FLAGS = ["--retries", "2", "--low-level-retries", "3", "--contimeout", "15s", "--timeout", "5m"]


class RcloneEngine(RcloneHistory, Engine):
    name = "rclone"

    def __init__(self, config, scrub):
        super().__init__(config, scrub)
        conf = os.path.join(self.workdir, "rclone.conf")
        with open(conf, "w", encoding="utf-8"):
            pass
        extra = {"RCLONE_CONFIG": conf}
        # The source is the production MinIO; BACKUP_S3_PROVIDER names the off-site service's flavour.
        for remote, endpoint, provider in ((SOURCE, config.source, "Minio"),
                                           (BACKUP, config.target, config.s3_provider)):
            prefix = f"RCLONE_CONFIG_{remote.upper()}_"
            extra.update({
                prefix + "TYPE": "s3", prefix + "PROVIDER": provider, prefix + "ENV_AUTH": "false",
                prefix + "ACCESS_KEY_ID": endpoint.access_key,
                prefix + "SECRET_ACCESS_KEY": endpoint.secret_key,
                prefix + "REGION": endpoint.region, prefix + "ENDPOINT": endpoint.url,
                # The program never creates the target bucket; restores create theirs explicitly.
                prefix + "NO_CHECK_BUCKET": "true",
            })
        self.env = proc.child_env(self.workdir, extra)
        self.common = ["--ca-cert", config.ca_file] if config.ca_file else []

    def configured_binary(self) -> str:
        return self.config.rclone_path

    def bandwidth_flags(self) -> list[str]:
        # Explicit 'B': rclone reads a bare number as KiB/s; bytes keep the configured rate exact.
        return ["--bwlimit", f"{self.config.bandwidth}B"] if self.config.bandwidth else []

    def _run(self, args: list[str], timeout: float | None = None) -> proc.Finished:
        return proc.run([self.binary(), *args, *self.common], self.env, timeout or self.config.timeout)

    def _reason(self, done: proc.Finished) -> str:
        if done.timed_out or done.returncode < 0:
            return self.process_failure(done, self.config.timeout)
        return last_line(done.stderr, self.scrub) or self.process_failure(done, self.config.timeout)

    def require_binary(self) -> str:
        self.checked_binary = trust.check_binary(self.configured_binary(), "rclone")
        try:
            done = proc.run([self.binary(), "version"], self.env, 30)
        except OSError:
            raise ConfigError(f"rclone binary {self.configured_binary()} is missing or not executable") from None
        first = done.stdout.splitlines()[0] if done.stdout else ""
        if done.returncode != 0 or not first.startswith("rclone v"):
            raise ConfigError(f"{self.configured_binary()} is not rclone ('version' printed {first[:80]!r})")
        return first

    @property
    def lossy_listings(self) -> bool:
        return self.config.s3_provider not in URL_ENCODED_LISTINGS

    def unstorable_reason(self) -> str:
        # rclone asks only some providers for URL-encoded listings (its provider quirks); forcing it on
        # a server that ignores the request for one kind of listing (SeaweedFS's version listing) would
        # silently turn '+' into a space and '%41' into 'A' in every key that holds them.
        return (f"rclone lists the backup server without URL encoding for BACKUP_S3_PROVIDER="
                f"{self.config.s3_provider}, and the server writes the control characters of these keys as "
                "U+FFFD: their bytes are copied under the exact key, but rclone can neither verify nor restore "
                "them by name (docs/unstorable.md)")

    @staticmethod
    def remote(loc: Location, key: str = "") -> str:
        return f"{loc.side}:{loc.join(key)}"

    def scan(self, loc: Location) -> Iterator[Obj]:
        # --no-mimetype with --use-server-modtime keeps this at one request per 1,000 keys.
        for item in self.scan_json(self.remote(loc), self.env, [], f"listing {loc.side}/{loc.join()}",
                                   missing=f"bucket {loc.bucket} does not exist on {loc.side}"):
            md5 = (item.get("Hashes") or {}).get("md5") or None
            yield Obj(item["Path"], int(item["Size"]), parse_time(item.get("ModTime")), md5)

    def bucket_exists(self, side: str, bucket: str) -> bool:
        done = self._run(["lsf", "--max-depth", "1", "--dirs-only", *NETWORK_FLAGS, f"{side}:{bucket}"])
        if done.returncode == 3 and not done.timed_out:
            return False
        if done.timed_out or done.returncode != 0:
            raise EngineError(f"checking bucket {side}/{bucket} failed: {self._reason(done)}")
        return True

    def versioning(self, bucket: str) -> str:
        done = self._run(["backend", "versioning", *NETWORK_FLAGS, f"{BACKUP}:{bucket}"])
        if done.timed_out or done.returncode != 0:
            raise EngineError(f"reading versioning of backup/{bucket} failed: {self._reason(done)}")
        state = done.stdout.strip()
        return "" if state == "Unversioned" else state

    def make_bucket(self, side: str, bucket: str) -> None:
        # The remotes say no_check_bucket, with which rclone's mkdir creates nothing (a server that
        # creates a bucket on the first put, SeaweedFS with an admin key, hid that); the connection
        # string's parameter wins over the remote's setting for this one call.
        done = self._run(["mkdir", *NETWORK_FLAGS, f"{side},no_check_bucket=false:{bucket}"])
        if done.timed_out or done.returncode != 0:
            raise EngineError(f"creating bucket {side}/{bucket} failed: {self._reason(done)}")

    def delete_keys(self, loc: Location, keys: list[str], timeout: float) -> CopyResult:
        # --files-from-raw names each key exactly (no filter patterns); rclone logs each deletion.
        listed = self._keys_file(keys)
        try:
            done = self._run(["delete", self.remote(loc), "--files-from-raw", listed, "--use-json-log", "-v",
                              "--stats", "0", *NETWORK_FLAGS], timeout)
        finally:
            os.unlink(listed)
        return self.settle(self.parse_copy_log(done.stderr.splitlines()), done, timeout)

    def copy(self, src: Location, dst: Location, *, remove: bool, overwrite: bool, timeout: float,
             on_event=None, keep_keys: bool = True) -> CopyResult:
        args = ["sync" if remove else "copy", self.remote(src), self.remote(dst),
                "--metadata", "--use-json-log", "-v", "--stats", "0", *NETWORK_FLAGS]
        # --checksum compares size + MD5 from the listings: a no-change run reads no object.
        args += ["--checksum"] if overwrite else ["--ignore-existing"]
        # The JSON log is read while rclone writes it (stderr into the same pipe): a first backup of a
        # million objects never holds its log, or its events, whole.
        log = proc.Lines([self.binary(), *args, *self.bandwidth_flags(), *self.common], self.env,
                         timeout or self.config.timeout, merge_stderr=True)
        result = self.parse_copy_log(log, on_event, keep_keys)
        return self.settle(result, log.finished, timeout)

    def parse_copy_log(self, lines, on_event=None, keep_keys: bool = True) -> CopyResult:
        """A CopyResult from rclone's JSON log lines; each copy or deletion entry goes to ``on_event`` as
        it is read, or into the result's events without one."""
        result = CopyResult(keep_keys=keep_keys)
        deliver = on_event or result.events.append
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if not isinstance(entry, dict):
                continue
            msg = entry.get("msg", "")
            if entry.get("level") == "error":
                where = f"{entry['object']}: " if entry.get("object") else ""
                result.add_error(self.scrub(where + msg)[:500])
            elif msg.startswith("Copied") and entry.get("object"):
                result.add_copied(entry["object"])
                deliver(entry)
            elif msg.startswith("Deleted") and entry.get("object"):
                result.deleted += 1
                deliver(entry)
        return result

    def open(self, loc: Location, key: str):
        return self.cat_one(loc.side, loc.join(key), self.env)
