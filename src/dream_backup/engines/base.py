"""The one interface both engines implement, and the values that cross it."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from dream_backup.config import Config
from dream_backup.engines import pairread
from dream_backup.errors import EngineError

SOURCE = "source"
BACKUP = "backup"
HASH_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Location:
    """A bucket and key prefix on one side: ``source`` (production) or ``backup`` (off-site)."""

    side: str
    bucket: str
    path: str = ""  # key prefix inside the bucket, without leading or trailing '/'

    def join(self, key: str = "") -> str:
        return "/".join(p for p in (self.bucket, self.path, key) if p)


@dataclass(frozen=True, slots=True)
class Obj:
    key: str  # relative to the listed location
    size: int
    mtime: datetime | None  # the server's last-modified time, UTC
    md5: str | None = None  # only when the engine knows a real MD5 (not a multipart ETag)


ERRORS_KEPT = 50  # error messages a copy keeps; the rest are only counted


@dataclass
class CopyResult:
    keys: list[str] = field(default_factory=list)  # copied, relative to the source location (keep_keys)
    copied: int = 0  # objects the engine reported copied (counted also when their keys are not kept)
    deleted: int = 0  # objects the engine deleted at the destination (a mirror with remove)
    errors: list[str] = field(default_factory=list)  # the first ERRORS_KEPT messages
    error_count: int = 0  # every error the engine reported
    timed_out: bool = False
    # The engine's own report of each object it copied or deleted (mc's JSON object, rclone's JSON log
    # entry), as it printed it; the backup logs each one as `Mirror event`.
    events: list[dict] = field(default_factory=list)
    # A restore of a million objects keeps no key: the destination's listing, not the engine's report,
    # says what arrived.
    keep_keys: bool = True

    def add_copied(self, key: str) -> None:
        self.copied += 1
        if self.keep_keys:
            self.keys.append(key)

    def add_error(self, message: str, first: bool = False) -> None:
        """Counts every error, keeps the first ERRORS_KEPT (``first``: this one goes before the others)."""
        self.error_count += 1
        if first:
            self.errors.insert(0, message)
            del self.errors[ERRORS_KEPT:]
        elif len(self.errors) < ERRORS_KEPT:
            self.errors.append(message)

    def summary(self) -> str:
        """The first error, with how many more there were."""
        more = self.error_count - 1
        return self.errors[0] + (f" (and {more} more errors)" if more > 0 else "")


def parse_time(text: str | None) -> datetime | None:
    """RFC 3339 with any offset and up to nanoseconds, to an aware UTC datetime; None for anything else,
    an impossible date (2026-02-30) included."""
    if not text:
        return None
    match = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?$", text.strip())
    if not match:
        return None
    base, fraction, zone = match.groups()
    stamp = base + ("." + (fraction + "000000")[:6] if fraction else "") + (
        "+00:00" if zone in (None, "Z") else zone)
    try:
        return datetime.fromisoformat(stamp).astimezone(UTC)
    except ValueError:
        return None


def iter_json_objects(text: str):
    """The JSON objects of a stream in which objects may span several lines (mc's errors do)."""
    decoder = json.JSONDecoder()
    index, end = 0, len(text)
    while index < end:
        while index < end and text[index] != "{":
            index += 1
        if index >= end:
            return
        try:
            obj, index = decoder.raw_decode(text, index)
        except json.JSONDecodeError:
            index += 1
            continue
        if isinstance(obj, dict):
            yield obj


def iter_json_lines(lines):
    """The JSON objects of a stream read line by line: an object begins on a line that starts with '{'
    (mc indents the inner lines of the objects it spreads over several), so one object at a time is
    held, never the whole stream."""
    chunk: list[str] = []
    for line in lines:
        if line.startswith("{") and chunk:
            yield from iter_json_objects("".join(chunk))
            chunk.clear()
        chunk.append(line)
    yield from iter_json_objects("".join(chunk))


def last_line(text: str, scrub) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return scrub(lines[-1])[:500] if lines else ""


class Engine:
    """Talks to both S3 endpoints through one binary. Subclasses implement the abstract methods."""

    name = "engine"

    def __init__(self, config: Config, scrub):
        self.config = config
        self.scrub = scrub
        self.workdir = tempfile.mkdtemp(prefix=f"dream-backup-{self.name}-")

    def close(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)

    # The file require_binary() checked, resolved: every later run executes exactly it, so a link swapped
    # after the check cannot make root run another file.
    checked_binary: str | None = None

    def configured_binary(self) -> str:
        raise NotImplementedError

    def binary(self) -> str:
        return self.checked_binary or self.configured_binary()

    def require_binary(self) -> str:
        """The binary's version line; ConfigError when it is missing, not root's alone or not what it
        claims (sets checked_binary)."""
        raise NotImplementedError

    def scan(self, loc: Location) -> Iterator[Obj]:
        """Every object below ``loc`` (key relative to it), streamed as the engine prints them; raises
        EngineError once the listing ends badly (the bucket is missing, the engine failed)."""
        raise NotImplementedError

    def list(self, loc: Location) -> dict[str, Obj]:
        """Every object below ``loc`` by key relative to it; EngineError when the bucket is missing."""
        return {obj.key: obj for obj in self.scan(loc)}

    def bucket_exists(self, side: str, bucket: str) -> bool:
        raise NotImplementedError

    def versioning(self, bucket: str) -> str:
        """Versioning state of a backup-side bucket: 'Enabled', 'Suspended' or '' (never versioned)."""
        raise NotImplementedError

    def copy(self, src: Location, dst: Location, *, remove: bool, overwrite: bool, timeout: float,
             on_event=None, keep_keys: bool = True) -> CopyResult:
        """Mirror src to dst (the engine decides what differs); deletes at dst only with remove. The
        engine's output is read as it is written; each object it reports copied or deleted goes to
        ``on_event`` at once (or into the result's events without one); ``keep_keys`` False only counts
        the copied objects."""
        raise NotImplementedError

    def make_bucket(self, side: str, bucket: str) -> None:
        raise NotImplementedError

    # Whether a copy out of the backup carries each version's object lock settings along (mc: the GET
    # answers them and its upload sends them again), so a locked backup cannot be copied into a bucket
    # without object lock (restore.refuse_carried_lock).
    copies_lock_settings = False

    # Whether the engine's listings of the backup can name a key with U+FFFD in place of characters XML
    # 1.0 cannot carry (rclone without URL-encoded listings); mc always asks for URL encoding.
    lossy_listings = False

    def unstorable_reason(self) -> str:
        """Why keys verify.unstorable() found cannot be verified or restored by name (docs/unstorable.md)."""
        return (f"the backup server lists these keys with U+FFFD in place of characters XML 1.0 cannot carry, "
                f"so the {self.name} engine can neither verify nor restore them by name (docs/unstorable.md)")

    def delete_keys(self, loc: Location, keys: list[str], timeout: float) -> CopyResult:
        """Delete exactly these objects (keys relative to ``loc``), never a prefix or anything else; the
        result counts what the engine reports deleted (``deleted``) and its errors."""
        raise NotImplementedError

    def process_failure(self, done, timeout: float) -> str:
        """Why a finished child failed, never empty: timed out, killed by a signal, or its exit code and
        the last line it wrote to stderr."""
        if done.timed_out:
            return f"{self.name} timed out after {timeout:.0f}s (BACKUP_TIMEOUT) and was stopped"
        if done.returncode < 0:
            return f"{self.name} was killed by signal {-done.returncode}"
        return f"{self.name} exited with {done.returncode}: {last_line(done.stderr, self.scrub) or 'no message'}"

    def settle(self, result: CopyResult, done, timeout: float) -> CopyResult:
        """Adds the process's own failure (timeout, non-zero exit without an error line) to a copy result."""
        result.timed_out = done.timed_out
        if done.timed_out:
            result.add_error(self.process_failure(done, timeout), first=True)
        elif done.returncode != 0 and not result.errors:
            result.add_error(self.process_failure(done, timeout))
        return result

    def open(self, loc: Location, key: str):
        """A context manager yielding a process whose stdout streams the object's bytes."""
        raise NotImplementedError

    def sha256(self, loc: Location, key: str) -> tuple[str, int]:
        """sha256 and byte count of an object, streamed with flat memory."""
        return self.hash_stream(self.open(loc, key), f"{loc.side}/{loc.join(key)}")

    def sha256_both(self, first: Location, second: Location, key: str,
                    size_hint: int) -> list[tuple[str, int] | EngineError]:
        """sha256 and byte count of ``key`` at two locations, read at once and hashed once while the two
        copies agree (engines/pairread.py); a side whose read failed gives its EngineError instead, so
        the caller can tell which side failed. ``size_hint`` (the listed size) only sizes the buffers."""
        copies = pairread.read_both(self.open(first, key), self.open(second, key), size_hint)
        return [(copy.sha256, copy.size) if copy.returncode == 0 else
                self.read_failure(f"{loc.side}/{loc.join(key)}", copy.stderr)
                for copy, loc in zip(copies, (first, second), strict=True)]

    def read_failure(self, what: str, stderr: str) -> EngineError:
        return EngineError(f"reading {what} failed: {last_line(stderr, self.scrub)}")

    def hash_stream(self, opened, what: str) -> tuple[str, int]:
        """sha256 and byte count of what an opened engine process (open(), open_version()) writes."""
        digest = hashlib.sha256()
        count = 0
        with opened as proc:
            for block in iter(lambda: proc.stdout.read(HASH_CHUNK), b""):
                digest.update(block)
                count += len(block)
            err = proc.stderr.read().decode(errors="replace")
            code = proc.wait()
        if code != 0:
            raise self.read_failure(what, err)
        return digest.hexdigest(), count
