"""What a mirror must copy, and whether the target now holds every source object (docs/architecture.md).

The rules read only ``size``, ``mtime`` and ``md5`` of an object, so they apply alike to the engines'
Obj and to listing.Entry rows of a spooled listing (there mtime is µs since the epoch)."""

from __future__ import annotations

from dream_backup.engines.base import Obj


def differs(src: Obj, dst: Obj | None) -> str | None:
    """Why ``dst`` is not a copy of ``src`` (None: it is, as far as the listings can tell)."""
    if dst is None:
        return "missing"
    if src.size != dst.size:
        return f"size {dst.size} != {src.size}"
    if src.md5 and dst.md5 and src.md5 != dst.md5:
        return "MD5 differs"
    return None


def needs_copy(src: Obj, dst: Obj | None) -> bool:
    """A plan entry: differs, or (no hash on one side) the source was modified after the copy was made."""
    if differs(src, dst):
        return True
    no_hashes = not (src.md5 and dst.md5)
    return bool(no_hashes and src.mtime and dst.mtime and src.mtime > dst.mtime)


def paired(source: dict[str, Obj], target: dict[str, Obj]):
    return ((key, obj, target.get(key)) for key, obj in source.items())


def plan_pairs(pairs) -> list[str]:
    """Keys to copy, from (key, source object, target object or None) triples."""
    return [key for key, src, dst in pairs if needs_copy(src, dst)]


def mismatch_pairs(pairs) -> dict[str, str]:
    """Source keys that are not present at the target with the same size (and MD5 where both know it)."""
    found = {}
    for key, src, dst in pairs:
        reason = differs(src, dst)
        if reason:
            found[key] = reason
    return found


def plan(source: dict[str, Obj], target: dict[str, Obj]) -> list[str]:
    return sorted(plan_pairs(paired(source, target)))


def mismatches(source: dict[str, Obj], target: dict[str, Obj]) -> dict[str, str]:
    return mismatch_pairs(paired(source, target))


# Characters XML 1.0 cannot carry: C0 controls but TAB, LF and CR, and U+FFFE, U+FFFF. A server that
# answers a listing in plain XML (no URL encoding) writes each as U+FFFD, so the engine lists such a
# key under another name (docs/unstorable.md). rclone names control characters by their Unicode
# pictures (U+2400 + code), mc raw: both forms are mapped.
_NOT_XML = [*range(0x01, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)]
LOSSY = str.maketrans({**{c: "\ufffd" for c in _NOT_XML}, **{0x2400 + c: "\ufffd" for c in _NOT_XML},
                       0xFFFE: "\ufffd", 0xFFFF: "\ufffd"})


def unstorable(wrong: dict[str, str], target_get) -> list[str]:
    """The keys of ``wrong`` (source keys and why the target lacks them) that are missing only because
    the target lists them under their XML-lossy name: the object is there, the engine cannot name it.
    Only mismatches are looked at (one indexed lookup each), never the whole bucket."""
    found = []
    for key, reason in wrong.items():
        if reason == "missing":
            lossy = key.translate(LOSSY)
            if lossy != key and target_get(lossy) is not None:
                found.append(key)
    return sorted(found)


def changed_since(before: Obj, now: Obj | None) -> bool:
    """Whether a source object changed (or vanished) after it was first listed."""
    return (now is None or now.size != before.size or now.mtime != before.mtime
            or bool(before.md5 and now.md5 and before.md5 != now.md5))
