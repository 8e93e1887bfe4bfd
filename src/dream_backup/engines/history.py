"""What both engines offer for the backup's history: every version of every key, the state of a prefix
at a point in time, copies of exact versions, and the target bucket's retention settings."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from dream_backup.engines.base import CopyResult, Location, Obj

UNKNOWN = "unknown"


@dataclass(frozen=True)
class Version:
    key: str  # relative to the listed location
    version_id: str  # the engine's name for this version ('' when the bucket was never versioned)
    mtime: datetime | None  # the server's last-modified time, UTC (None: the engine cannot tell)
    size: int
    md5: str | None = None
    delete_marker: bool = False
    latest: bool = False

    def as_obj(self) -> Obj:
        return Obj(self.key, self.size, self.mtime, self.md5)


@dataclass
class Protection:
    """The target bucket's lifecycle and object lock as far as the engine can read them."""

    noncurrent_days: int | None = None  # noncurrent versions expire after N days
    keep_newer: int | None = None  # ... except the N newest noncurrent ones
    lifecycle: str = UNKNOWN  # 'rule', 'none' or UNKNOWN
    lock_mode: str = UNKNOWN  # 'GOVERNANCE', 'COMPLIANCE', 'off' or UNKNOWN
    lock_days: int | None = None
    why_unknown: str = ""


class _Chosen:
    """A few chosen versions in memory with the face of a restore plan's Listing (len, versions())."""

    def __init__(self, chosen: dict[str, Version]):
        self.chosen = chosen

    def __len__(self) -> int:
        return len(self.chosen)

    def versions(self) -> Iterator[Version]:
        return (self.chosen[key] for key in sorted(self.chosen))


def newest_first(histories: dict[str, list[Version]]) -> dict[str, list[Version]]:
    """Each key's versions newest first; the engine's 'latest' flag breaks ties within a second."""
    def order(v: Version):
        return (v.latest, v.mtime.timestamp() if v.mtime else float("inf"))
    return {key: sorted(items, key=order, reverse=True) for key, items in histories.items()}


class History:
    """Mixed into an Engine. Subclasses implement list_versions, scan_state_at, copy_planned,
    open_version and protection."""

    def list_versions(self, loc: Location) -> dict[str, list[Version]]:
        raise NotImplementedError

    def scan_state_at(self, loc: Location, when: datetime) -> Iterator[Version]:
        """Per key, the version current at ``when`` (inclusive rule; keys that did not exist then are
        left out), streamed as the engine prints the listing."""
        raise NotImplementedError

    def state_at(self, loc: Location, when: datetime) -> dict[str, Version]:
        return {version.key: version for version in self.scan_state_at(loc, when)}

    def copy_planned(self, src: Location, dst: Location, absent, present, when: datetime | None,
                     timeout: float) -> CopyResult:
        """Copy exactly the keys of two restore plans (listing.Listing, keys relative to src and dst),
        each as the version the plan names (``when`` None: the current object): ``absent`` lists keys
        the destination lacks, ``present`` keys it holds in another form, to be replaced. The engine's
        output is read as it is written; the result counts copies and keeps no key."""
        raise NotImplementedError

    def copy_versions(self, src: Location, dst: Location, chosen: dict[str, Version],
                      when: datetime | None, timeout: float) -> CopyResult:
        """Copy exactly these keys (relative to src and dst), each as the given version, replacing what
        the destination holds; with ``when`` None the current object is copied."""
        return self.copy_planned(src, dst, _Chosen({}), _Chosen(chosen), when, timeout)

    def open_version(self, loc: Location, version: Version, when: datetime | None):
        raise NotImplementedError

    def protection(self, bucket: str) -> Protection:
        raise NotImplementedError

    def sha256_version(self, loc: Location, version: Version, when: datetime | None) -> tuple[str, int]:
        return self.hash_stream(self.open_version(loc, version, when),
                                f"{loc.side}/{loc.join(version.key)} ({version.version_id or 'current'})")
