"""A bucket's listing spooled to a private SQLite file while the engine prints it, so a backup of a
million objects holds none of them in memory: the two sides are compared by a join that streams one
row at a time, and single keys are looked up by the table's index. The rules of what differs stay in
verify.py; this module only feeds them.

Times are stored as integer microseconds since the epoch (exact: engines report at most microseconds
after parse_time), so the comparisons in verify.py see the same order and equality as with datetimes."""

from __future__ import annotations

import os
import sqlite3
from collections import namedtuple
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from dream_backup.engines.base import Location
from dream_backup.engines.history import Version
from dream_backup.errors import EngineError

# What verify.py reads of an object: size, mtime (here µs since the epoch, or None) and MD5 (or None);
# a restore's listings also carry the backup version each key is restored from.
Entry = namedtuple("Entry", "size mtime md5 version", defaults=(None,))
BATCH = 5000  # rows per insert; bounds the memory of one batch


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def micros(when: datetime | None) -> int | None:
    return None if when is None else (when - EPOCH) // MICROSECOND


def moment(value: int | None) -> datetime | None:
    return None if value is None else EPOCH + value * MICROSECOND


def _connect(path: str) -> sqlite3.Connection:
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    # A scratch file rebuilt on every run: no journal and no fsync; a small page cache bounds memory.
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-2048")
    db.execute("PRAGMA temp_store=FILE")
    return db


class Listing:
    """One side's objects, as the engine listed them at one moment (or a restore's plan)."""

    def __init__(self, path: str):
        self.path = path
        self.count = 0

    @classmethod
    def spool(cls, engine, loc: Location, name: str) -> Listing:
        """List ``loc`` into ``<engine workdir>/<name>.sqlite`` (replaced when it exists)."""
        return cls.build(engine, name, engine.scan(loc), f"listing {loc.side}/{loc.join()}")

    @classmethod
    def build(cls, engine, name: str, objects, what: str) -> Listing:
        """A listing of ``objects`` (anything with key, size, mtime, md5 and optionally version_id) in
        ``<engine workdir>/<name>.sqlite``; ``what`` names it in the error a full TMPDIR gives."""
        writer = ListingWriter(os.path.join(engine.workdir, f"{name}.sqlite"), what)
        try:
            for obj in objects:
                writer.add(obj)
        finally:
            writer.close()
        return writer.listing

    def __len__(self) -> int:
        return self.count

    def rows(self) -> Iterator[tuple[str, Entry]]:
        """Every (key, Entry), by key, one row at a time."""
        db = _connect(self.path)
        try:
            for key, size, mtime, md5, version in db.execute(
                    "SELECT key, size, mtime, md5, version FROM objects ORDER BY key"):
                yield key, Entry(size, mtime, md5, version)
        finally:
            db.close()

    def versions(self) -> Iterator[Version]:
        """Every row as the Version it names (a restore plan: the version each key is restored from)."""
        for key, entry in self.rows():
            yield Version(key, entry.version or "", moment(entry.mtime), entry.size, entry.md5)

    def keys(self, limit: int) -> list[str]:
        db = _connect(self.path)
        try:
            return [key for (key,) in db.execute("SELECT key FROM objects ORDER BY key LIMIT ?", (limit,))]
        finally:
            db.close()

    def total_size(self) -> int:
        db = _connect(self.path)
        try:
            return db.execute("SELECT coalesce(sum(size), 0) FROM objects").fetchone()[0]
        finally:
            db.close()

    def get(self, key: str) -> Entry | None:
        db = _connect(self.path)
        try:
            row = db.execute("SELECT size, mtime, md5, version FROM objects WHERE key = ?", (key,)).fetchone()
        finally:
            db.close()
        return Entry(*row) if row else None

    def sizes(self, keys) -> int:
        """Total size of the listed objects among ``keys``, each counted once. The keys go into a
        temporary table and one join sums them (a query per key cost a first backup more CPU than the
        in-memory listings it replaced)."""
        db = _connect(self.path)
        try:
            db.execute("CREATE TEMP TABLE wanted (key TEXT PRIMARY KEY) WITHOUT ROWID")
            db.execute("BEGIN")
            db.executemany("INSERT OR IGNORE INTO wanted VALUES (?)", ((key,) for key in keys))
            db.execute("COMMIT")
            return db.execute("SELECT coalesce(sum(o.size), 0) FROM wanted w JOIN objects o ON o.key = w.key"
                              ).fetchone()[0]
        finally:
            db.close()

    def remove(self) -> None:
        if os.path.exists(self.path):
            os.unlink(self.path)


class ListingWriter:
    """Writes a Listing one object at a time, in batches (several writers may fill files at once)."""

    def __init__(self, path: str, what: str):
        self.what = what
        for stale in (path, path + "-journal"):
            if os.path.exists(stale):
                os.unlink(stale)
        self.listing = Listing(path)
        self.batch: list[tuple] = []
        try:
            # The file is created 0600 inside the engine's private mkdtemp directory.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            os.close(fd)
            self.db = _connect(path)
            self.db.execute("CREATE TABLE objects (key TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime INTEGER, "
                            "md5 TEXT, version TEXT) WITHOUT ROWID")
            self.db.execute("BEGIN")
        except (OSError, sqlite3.Error) as exc:
            raise self._failed(exc) from None

    def _failed(self, exc: Exception) -> EngineError:
        return EngineError(f"{self.what} could not be spooled to {self.listing.path}: {exc} "
                           "(a listing needs about 100 bytes per object in TMPDIR)")

    def add(self, obj) -> None:
        self.batch.append((obj.key, obj.size, micros(obj.mtime), obj.md5, getattr(obj, "version_id", None) or None))
        if len(self.batch) >= BATCH:
            self._flush()

    def _flush(self) -> None:
        try:
            self.db.executemany("INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?, ?)", self.batch)
        except sqlite3.Error as exc:
            raise self._failed(exc) from None
        self.batch.clear()

    def close(self) -> None:
        """Commits what was added (also after a failed listing: the caller removes the file)."""
        try:
            self._flush()
            self.db.execute("COMMIT")
            self.listing.count = self.db.execute("SELECT count(*) FROM objects").fetchone()[0]
        except sqlite3.Error as exc:
            raise self._failed(exc) from None
        finally:
            self.db.close()


# Rows the rules in verify.py cannot flag: same size and the same MD5 known on both sides (differs()
# finds nothing, and needs_copy() looks at times only when a hash is missing). Skipping them in SQL
# keeps an unchanged bucket's comparison out of Python.
JOIN = ("SELECT s.key, s.size, s.mtime, s.md5, s.version, t.size, t.mtime, t.md5 FROM main.objects s "
        "LEFT JOIN target.objects t ON t.key = s.key ")
JOIN_ALL = JOIN + "ORDER BY s.key"
JOIN_CANDIDATES = JOIN + "WHERE NOT coalesce(t.size = s.size AND s.md5 IS NOT NULL AND t.md5 = s.md5, 0) ORDER BY s.key"


def pairs(source: Listing, target: Listing, skip_identical: bool = False) -> Iterator[tuple[str, Entry, Entry | None]]:
    """Every source object with the target's object of the same key (None when absent), by key; with
    ``skip_identical``, only those the rules could find different."""
    db = _connect(source.path)
    try:
        db.execute("ATTACH DATABASE ? AS target", (target.path,))
        rows = db.execute(JOIN_CANDIDATES if skip_identical else JOIN_ALL)
        for key, size, mtime, md5, version, t_size, t_mtime, t_md5 in rows:
            yield key, Entry(size, mtime, md5, version), (None if t_size is None else Entry(t_size, t_mtime, t_md5))
    finally:
        db.close()


def only_in(target: Listing, source: Listing) -> Iterator[str]:
    """Keys of ``target`` that ``source`` does not list, in order."""
    db = _connect(target.path)
    try:
        db.execute("ATTACH DATABASE ? AS source", (source.path,))
        for (key,) in db.execute("SELECT t.key FROM main.objects t WHERE NOT EXISTS "
                                 "(SELECT 1 FROM source.objects s WHERE s.key = t.key) ORDER BY t.key"):
            yield key
    finally:
        db.close()
