"""What the guard remembers between runs (BACKUP_STATE_DIR, default /var/lib/dream-backup): each
bucket's source listing at its last successful backup, ``<bucket>.last.sqlite``.

Whoever can write these files decides what the guard sees: a forged listing that already lacks the
objects an attacker deleted hides the deletion. So the directory must be root's alone (created 0700
when missing, never a link, in directories nobody else can rename it out of) and every file a regular
file of the running user with one link that nobody else can write; anything else is refused (exit 2)
before a bucket is touched. /var/lib, unlike /run, survives a reboot."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat

from dream_backup import trust
from dream_backup.errors import ConfigError
from dream_backup.listing import Listing, _connect
from dream_backup.safe_open import describe, open_failure, open_regular

SUFFIX = ".last.sqlite"
REMEDY = ("it must be root's alone (chown root:root, chmod go-w); if in doubt remove it: the guard then "
          "counts against the backup alone until the next successful run")


class StateDir:
    """The guard's state directory, checked once per run; ``path`` None when it does not exist yet
    and may not be created (a dry run)."""

    def __init__(self, path: str | None):
        self.path = path

    @classmethod
    def open(cls, directory: str, create: bool = True) -> StateDir:
        if create:
            try:
                os.mkdir(directory, 0o700)
            except FileExistsError:
                pass
            except OSError as exc:
                raise ConfigError(f"state directory {directory} cannot be created: {exc.strerror}") from None
        elif not os.path.lexists(directory):
            return cls(None)
        try:
            fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as exc:
            raise open_failure(directory, "state directory", exc, "usable", directory=True) from None
        try:
            st = os.fstat(fd)
        finally:
            os.close(fd)
        if st.st_uid != os.geteuid() or st.st_mode & 0o022:
            raise ConfigError(f"state directory {directory} is {describe(st)}; refused: another user could "
                              f"forge what the guard remembers (it must be owned by uid {os.geteuid()} and not "
                              "writable by group or others, e.g. /var/lib/dream-backup, mode 0700)")
        problem = trust.directory_problem(os.path.dirname(os.path.realpath(directory)))
        if problem:
            raise ConfigError(f"state directory {directory} refused: {problem}")
        return cls(directory)

    def file(self, bucket: str) -> str:
        return os.path.join(self.path, bucket + SUFFIX)

    def check(self, bucket: str) -> bool:
        """Whether ``bucket`` has a last listing; ConfigError when the file is not root's alone."""
        if self.path is None or not os.path.lexists(self.file(bucket)):
            return False
        path = self.file(bucket)
        fd = open_regular(path, os.O_RDONLY, "guard state file")
        try:
            st = os.fstat(fd)
        finally:
            os.close(fd)
        if st.st_uid != os.geteuid() or st.st_mode & 0o022 or st.st_nlink != 1:
            links = "" if st.st_nlink == 1 else f" with {st.st_nlink} hard links"
            raise ConfigError(f"guard state file {path} is {describe(st)}{links}; refused: {REMEDY}")
        return True

    def last(self, bucket: str) -> Listing | None:
        """The bucket's listing at its last successful backup, or None (never backed up with the guard)."""
        if not self.check(bucket):
            return None
        listing = Listing(self.file(bucket))
        try:
            db = _connect(listing.path)
            try:
                # Its rows are counted by the guard's own pass over it; here only that it is a listing.
                db.execute("SELECT key, size, mtime, md5 FROM objects LIMIT 1").fetchall()
            finally:
                db.close()
        except sqlite3.Error as exc:
            raise ConfigError(f"guard state file {listing.path} is not a listing ({exc}); {REMEDY}") from None
        return listing

    def save(self, bucket: str, listing: Listing) -> None:
        """Make ``listing`` (a spooled source listing, consumed) the bucket's last successful one: moved
        when it is on the same file system, else copied; a new name swapped in, so a crash leaves the
        previous file whole."""
        if self.path is None:
            return
        final = self.file(bucket)
        pending = final + ".new"
        if os.path.lexists(pending):
            os.unlink(pending)
        try:
            os.rename(listing.path, pending)
        except OSError:
            fd = os.open(pending, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            with os.fdopen(fd, "wb") as out, open(listing.path, "rb") as src:
                shutil.copyfileobj(src, out, 1024 * 1024)
                out.flush()
                os.fsync(out.fileno())
        os.chmod(pending, stat.S_IRUSR | stat.S_IWUSR)
        os.replace(pending, final)
