"""Child processes of the engines (engines/proc.py): an explicit environment, a process group of their own
that a timeout stops whole, and output read line by line with only a bounded tail of stderr kept."""

from __future__ import annotations

import os
import time

import pytest

from dream_backup.engines import proc

ENV = proc.child_env("/nonexistent", {})


def gone(pid: int) -> bool:
    """The process has ended (absent, or a zombie waiting for its new parent)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def wait_gone(pid: int) -> bool:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if gone(pid):
            return True
        time.sleep(0.05)
    return False


def test_child_env_is_minimal_and_explicit(monkeypatch):
    monkeypatch.setenv("AWS_CA_BUNDLE", "/x")
    env = proc.child_env("/work/dir", {"RCLONE_CONFIG": "/work/dir/rclone.conf"})
    assert env == {"PATH": proc.SAFE_PATH, "HOME": "/work/dir", "LANG": "C", "LC_ALL": "C",
                   "RCLONE_CONFIG": "/work/dir/rclone.conf"}
    done = proc.run(["env"], env, 30)
    assert sorted(done.stdout.splitlines()) == sorted(f"{k}={v}" for k, v in env.items())


def test_run_returns_code_and_both_outputs():
    done = proc.run(["sh", "-c", "echo out; echo err >&2; exit 3"], ENV, 30)
    assert (done.returncode, done.stdout, done.stderr, done.timed_out) == (3, "out\n", "err\n", False)


def test_the_child_reads_no_stdin_and_leads_its_own_group():
    done = proc.run(["sh", "-c", "cat; ps -o pgid= -p $$; echo $$"], ENV, 30)
    pgid, pid = done.stdout.split()
    assert pgid == pid  # a session and group of its own: a timeout can stop all it started


def test_a_timeout_stops_the_whole_group():
    done = proc.run(["sh", "-c", "sleep 600 & echo $!; wait"], ENV, 1)
    assert done.timed_out is True and done.returncode < 0
    assert wait_gone(int(done.stdout.split()[0]))  # the grandchild too


def test_lines_are_read_as_written_and_stderr_drained_to_its_tail():
    script = "i=0; while [ $i -lt 3 ]; do echo line$i; i=$((i+1)); done; yes noise-noise-noise | head -n 20000 >&2; " \
             "echo; echo last words >&2; exit 4"
    lines = proc.Lines(["sh", "-c", script], ENV, 30)
    assert list(lines) == ["line0\n", "line1\n", "line2\n", "\n"]
    done = lines.finished
    assert done.returncode == 4 and not done.timed_out
    # 400,000 characters of stderr: whole lines of the end are kept, about STDERR_KEEP of them.
    assert done.stderr.endswith("noise-noise-noise\nlast words\n")
    assert proc.STDERR_KEEP - 20 <= len(done.stderr) <= proc.STDERR_KEEP


def test_lines_with_merged_stderr_yield_both_streams():
    lines = proc.Lines(["sh", "-c", "echo a; echo b >&2"], ENV, 30, merge_stderr=True)
    assert sorted(lines) == ["a\n", "b\n"]
    assert sorted(lines.finished.stderr.splitlines()) == ["a", "b"]


def test_lines_time_out_and_stop_the_group():
    lines = proc.Lines(["sh", "-c", "sleep 600 & echo $!; wait"], ENV, 1)
    printed = list(lines)
    assert lines.finished.timed_out is True
    assert wait_gone(int(printed[0]))


def test_a_reader_that_stops_early_stops_the_child():
    lines = proc.Lines(["sh", "-c", "echo $$; while :; do echo y; done"], ENV, None)
    iterator = iter(lines)
    pid = int(next(iterator))
    next(iterator)
    iterator.close()
    assert wait_gone(pid)


def test_stream_gives_bytes_and_stops_an_unfinished_child():
    with proc.stream(["sh", "-c", "printf 'ab\\0c'; echo $$ >&2; sleep 600"], ENV) as running:
        assert running.stdout.read(4) == b"ab\0c"
        pid = int(running.stderr.readline())
    assert wait_gone(pid)


@pytest.mark.parametrize("missing", ["/nonexistent/engine"])
def test_a_missing_binary_is_an_oserror(missing):
    with pytest.raises(OSError):
        proc.run([missing], ENV, 5)
    assert os.path.exists("/bin/sh")
