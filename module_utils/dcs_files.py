"""File helpers shared by this repository's modules: content hashes and atomic replacement.

A file is replaced by writing a temporary file in the same directory (same file system), giving it
its final owner and mode, flushing it to disk, then renaming it over the old one: a reader sees the
old file or the new one, never a half-written one, and any failure leaves the old file untouched.
"""

from __future__ import annotations

import grp
import hashlib
import os
import pwd
import stat
import tempfile

CHUNK = 1024 * 1024


def sha256_file(path):
    """Hex sha256 of a file's bytes, or None when it does not exist."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(CHUNK), b""):
                digest.update(block)
    except FileNotFoundError:
        return None
    return digest.hexdigest()


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def read_bytes(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def resolve_ids(owner, group):
    """uid and gid for names (or numeric strings); raises KeyError naming the unknown one."""
    def lookup(name, by_name, kind):
        if name is None:
            return -1
        if str(name).isdigit():
            return int(name)
        try:
            return by_name(name)
        except KeyError:
            raise KeyError(f"unknown {kind} '{name}'") from None

    uid = lookup(owner, lambda n: pwd.getpwnam(n).pw_uid, "user")
    gid = lookup(group, lambda n: grp.getgrnam(n).gr_gid, "group")
    return uid, gid


def attributes_differ(path, mode, uid, gid):
    """Whether an existing path's mode, uid or gid differ from the wanted ones (-1: don't care)."""
    st = os.lstat(path)
    return (stat.S_IMODE(st.st_mode) != mode
            or uid not in (-1, st.st_uid)
            or gid not in (-1, st.st_gid))


def set_attributes(path, mode, uid, gid):
    os.chown(path, uid, gid)
    os.chmod(path, mode)


def atomic_write(dest, data, mode, uid=-1, gid=-1, source_path=None):
    """Replace ``dest`` with ``data`` (bytes) or with a copy of ``source_path``, atomically."""
    directory = os.path.dirname(os.path.abspath(dest))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(dest)}.", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            if source_path is not None:
                with open(source_path, "rb") as src:
                    for block in iter(lambda: src.read(CHUNK), b""):
                        handle.write(block)
            else:
                handle.write(data)
            handle.flush()
            os.fchown(handle.fileno(), uid, gid)
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(tmp, dest)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def mode_string(mode):
    return f"{mode:04o}"


def ensure_file(module, path, content, mode, uid, gid, diff=None, make_parent_mode=None):
    """Make ``path`` hold ``content`` with ``mode``/owner, honouring check and diff mode.

    Returns the common result fields (changed, path, sha256, diff when asked). ``diff`` overrides the
    plain before/after texts, for callers that must mask parts of the content.
    """
    current = read_bytes(path)
    content_changed = current != content
    attrs_changed = current is not None and not content_changed and attributes_differ(path, mode, uid, gid)
    result = {"changed": content_changed or attrs_changed, "path": path, "sha256": sha256_bytes(content),
              "mode": mode_string(mode)}
    if module._diff:
        if diff is None:
            diff = {"before": "" if current is None else current.decode(errors="replace"),
                    "after": content.decode(errors="replace")}
        result["diff"] = dict(diff, before_header=path, after_header=path)
    if not result["changed"] or module.check_mode:
        return result
    directory = os.path.dirname(path)
    if make_parent_mode is not None and not os.path.isdir(directory):
        os.makedirs(directory, mode=make_parent_mode)
        set_attributes(directory, make_parent_mode, uid, gid)
    if content_changed:
        atomic_write(path, content, mode, uid, gid)
    else:
        set_attributes(path, mode, uid, gid)
    return result


def remove_file(module, path):
    """Remove ``path`` if present (check and diff mode aware)."""
    current = read_bytes(path)
    result = {"changed": current is not None, "path": path}
    if module._diff:
        result["diff"] = {"before": "" if current is None else current.decode(errors="replace"),
                          "after": "", "before_header": path, "after_header": path}
    if current is not None and not module.check_mode:
        os.unlink(path)
    return result
