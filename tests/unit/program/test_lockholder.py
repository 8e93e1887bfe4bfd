"""Who holds the lock and since when (lockholder.py): read from the lock file without following a link or
blocking, the pid only when the file holds one."""

from __future__ import annotations

import os
import time

from dream_backup import lockholder


def test_pid_and_the_files_mtime(tmp_path):
    path = tmp_path / "backup.lock"
    path.write_text("4242\n")
    os.utime(path, (1_700_000_000, 1_700_000_000))
    assert lockholder.describe(str(path)) == (4242, 1_700_000_000)


def test_an_empty_file_with_nothing_to_say_is_unknown(tmp_path):
    path = tmp_path / "backup.lock"
    path.write_text("")
    assert lockholder.describe(str(path)) == (None, None)


def test_anything_but_a_plausible_pid_is_no_pid(tmp_path):
    path = tmp_path / "backup.lock"
    for text in ("0\n", "-5\n", "4242abc", str(2**22), "x" * 100):
        path.write_text(text)
        pid, since = lockholder.describe(str(path))
        assert pid is None, text
        assert since == path.stat().st_mtime


def test_a_missing_file_symlink_or_fifo_is_unknown_and_never_blocks(tmp_path):
    target = tmp_path / "target"
    target.write_text("4242\n")
    (tmp_path / "link").symlink_to(target)
    os.mkfifo(tmp_path / "fifo")
    for name in ("absent", "link", "fifo"):
        assert lockholder.describe(str(tmp_path / name)) == (None, None), name


def test_process_start_of_this_process_is_in_the_past():
    started = lockholder.process_start(os.getpid())
    assert started is not None and started <= time.time()
    assert started > time.time() - 24 * 3600 * 365
    assert lockholder.process_start(2**22 + 1) is None
