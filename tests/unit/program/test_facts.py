"""facts.py (a link to module_utils/dcs_facts.py, the one owner of facts the program, the modules and the
tests share): who holds the lock and since when, read from the lock file without following a link or
blocking, the pid only when the file holds one; byte sizes; the metrics file's parser."""

from __future__ import annotations

import os
import time

from dream_backup import facts


def test_pid_and_the_files_mtime(tmp_path):
    path = tmp_path / "backup.lock"
    path.write_text("4242\n")
    os.utime(path, (1_700_000_000, 1_700_000_000))
    assert facts.lock_pid_and_since(str(path)) == (4242, 1_700_000_000)


def test_an_empty_file_with_nothing_to_say_is_unknown(tmp_path):
    path = tmp_path / "backup.lock"
    path.write_text("")
    assert facts.lock_pid_and_since(str(path)) == (None, None)


def test_anything_but_a_plausible_pid_is_no_pid(tmp_path):
    path = tmp_path / "backup.lock"
    for text in ("0\n", "-5\n", "4242abc", str(2**22), "x" * 100):
        path.write_text(text)
        pid, since = facts.lock_pid_and_since(str(path))
        assert pid is None, text
        assert since == path.stat().st_mtime


def test_a_missing_file_symlink_or_fifo_is_unknown_and_never_blocks(tmp_path):
    target = tmp_path / "target"
    target.write_text("4242\n")
    (tmp_path / "link").symlink_to(target)
    os.mkfifo(tmp_path / "fifo")
    for name in ("absent", "link", "fifo"):
        assert facts.lock_pid_and_since(str(tmp_path / name)) == (None, None), name


def test_process_start_of_this_process_is_in_the_past():
    started = facts.process_start(os.getpid())
    assert started is not None and started <= time.time()
    assert started > time.time() - 24 * 3600 * 365
    assert facts.process_start(2**22 + 1) is None


def test_byte_sizes_read_as_an_operator_writes_them():
    assert [facts.human_bytes(n) for n in (0, 1023, 1024, 1536, 5 * 1024**3, 3 * 1024**5)] == [
        "0 B", "1023 B", "1.0 KiB", "1.5 KiB", "5.0 GiB", "3072.0 TiB"]


def test_the_metrics_parser_reads_each_bucket_and_skips_what_is_not_a_series():
    text = ("# HELP dream_backup_objects objects\n# TYPE dream_backup_objects gauge\n"
            'dream_backup_objects{bucket="books"} 12\n'
            'dream_backup_objects{bucket="a\\"b"} 3\n'
            "dream_backup_last_run_timestamp_seconds 1700000000\n"
            "not a series line\n"
            'dream_backup_bytes{bucket="apps"} NaNish\n')
    assert facts.parse_metrics(text) == {(facts.OBJECTS, "books"): 12.0, (facts.OBJECTS, 'a"b'): 3.0,
                                         (facts.LAST_RUN, ""): 1_700_000_000.0}


def test_the_program_and_the_status_module_read_one_file():
    """The program's facts.py is the module_utils file itself (a link), not a copy that could drift."""
    from pathlib import Path  # noqa: PLC0415

    link = Path(facts.__file__)
    assert link.is_symlink() and link.resolve().name == "dcs_facts.py"
