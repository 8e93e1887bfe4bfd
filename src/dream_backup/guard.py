"""The guard (docs/guard.md): before a bucket is mirrored, how much of its backup the night would
overwrite, and how much of its last successful backup has vanished at the source. A night that would
copy a disaster (ransomware rewriting a bucket, a production that comes back empty) is held instead.

Everything is counted in SQL over the spooled listings (listing.py): one join of source and target,
one anti-join of the last successful listing and the source; only the sample keys reach Python."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from dream_backup.errors import EngineError
from dream_backup.listing import Listing, _connect

SAMPLES = 20

# verify.needs_copy() in SQL, for a source row s and a target row t: differs (size, or MD5 where both
# know it), or no hash on one side and the source modified after the copy was made. Python's truth
# of '' and 0 is kept: an empty MD5 is no hash, a zero mtime no time.
NEEDS_COPY = ("(t.size != s.size "
              "OR (coalesce(s.md5, '') != '' AND coalesce(t.md5, '') != '' AND t.md5 != s.md5) "
              "OR ((coalesce(s.md5, '') = '' OR coalesce(t.md5, '') = '') "
              "AND coalesce(s.mtime, 0) != 0 AND coalesce(t.mtime, 0) != 0 AND s.mtime > t.mtime))")
# One pass over source LEFT JOIN target: keys missing at the target, and keys present on both sides
# that the night would overwrite.
# Rows with the same size and the same known MD5 cannot count (as listing.JOIN_CANDIDATES): filtered first,
# so an unchanged bucket's rows never reach the expression.
PLAN = ("SELECT coalesce(sum(t.key IS NULL), 0), coalesce(sum(t.key IS NOT NULL AND " + NEEDS_COPY + "), 0) "
        "FROM main.objects s LEFT JOIN other.objects t ON t.key = s.key "
        "WHERE NOT coalesce(t.size = s.size AND coalesce(s.md5, '') != '' AND t.md5 = s.md5, 0)")
CHANGED_SAMPLES = "".join(("SELECT s.key FROM main.objects s JOIN other.objects t ON t.key = s.key AND ",
                           NEEDS_COPY, " ORDER BY s.key LIMIT ?"))
# One pass over the last successful listing: its size, and its keys that the source no longer lists.
DELETED = ("SELECT count(*), coalesce(sum(NOT EXISTS (SELECT 1 FROM main.objects s WHERE s.key = l.key)), 0) "
           "FROM other.objects l")
DELETED_SAMPLES = ("SELECT l.key FROM other.objects l WHERE NOT EXISTS "
                   "(SELECT 1 FROM main.objects s WHERE s.key = l.key) ORDER BY l.key LIMIT ?")


@dataclass
class Counts:
    source: int  # objects the source lists now
    target: int  # objects the backup holds (current versions under the bucket's path)
    baseline: int  # objects in the last successful backup (the target's count before the first one)
    missing: int  # source objects the backup does not hold: copied, never a threat
    changed: int  # objects on both sides that the night would overwrite
    deleted: int  # objects of the last successful backup the source no longer lists
    has_last: bool = False
    changed_keys: list[str] = field(default_factory=list)
    deleted_keys: list[str] = field(default_factory=list)

    @property
    def planned(self) -> bool:
        """Whether a mirror has anything to copy (a deletion at the target is decided apart)."""
        return bool(self.missing or self.changed)


def _query(source: Listing, other: Listing, sql: str, *params):
    try:
        db = _connect(source.path)
        try:
            db.execute("ATTACH DATABASE ? AS other", (other.path,))
            return db.execute(sql, params).fetchall()
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise EngineError(f"the guard could not compare the listings {source.path} and {other.path}: {exc}") from None


def count(source: Listing, target: Listing, last: Listing | None) -> Counts:
    """What the night would do to the backup, counted before anything is copied."""
    missing, changed = _query(source, target, PLAN)[0]
    counts = Counts(source=len(source), target=len(target), baseline=len(target), missing=missing,
                    changed=changed, deleted=0)
    if changed:
        counts.changed_keys = [key for (key,) in _query(source, target, CHANGED_SAMPLES, SAMPLES)]
    if last is not None:
        counts.has_last = True
        last.count, counts.deleted = _query(source, last, DELETED)[0]
        counts.baseline = len(last)
        if counts.deleted:
            counts.deleted_keys = [key for (key,) in _query(source, last, DELETED_SAMPLES, SAMPLES)]
    return counts


def hold_reason(counts: Counts, percent: float | None, min_objects: int) -> str | None:
    """Why the night must be held, or None. ``percent`` None: the guard is off for the bucket."""
    if percent is None:
        return None
    if counts.source == 0 and (counts.target or counts.baseline):
        return (f"the source lists no objects while the backup holds {max(counts.target, counts.baseline)}; "
                f"{describe(counts, percent)}")
    if counts.baseline < min_objects:
        return None
    limit = counts.baseline * percent / 100
    if counts.changed > limit or counts.deleted > limit:
        return describe(counts, percent)
    return None


def describe(counts: Counts, percent: float | None) -> str:
    """The counts, the threshold and the sample keys, in one line."""
    threshold = "off" if percent is None else f"{percent:g}% of {counts.baseline} = {counts.baseline * percent / 100:g}"
    deleted = (f"{counts.deleted} deleted at the source since the last successful backup" if counts.has_last
               else "deletions not counted (no earlier successful backup recorded)")
    text = (f"{counts.changed} objects would be overwritten, {deleted} "
            f"({counts.baseline} objects in the last backup); threshold {threshold}")
    # Up to SAMPLES keys in all, overwritten ones first.
    changed = counts.changed_keys[:SAMPLES]
    deleted = counts.deleted_keys[:SAMPLES - len(changed)]
    if changed:
        text += "; overwritten: " + ", ".join(changed) + (" …" if counts.changed > len(changed) else "")
    if deleted:
        text += "; deleted: " + ", ".join(deleted) + (" …" if counts.deleted > len(deleted) else "")
    return text
