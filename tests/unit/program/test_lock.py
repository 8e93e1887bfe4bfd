"""The writers' lock (lock.py): one run at a time, 75 when held, and nothing another account planted
at the lock's path or directory is ever used as the lock."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from dream_backup import lock
from dream_backup.errors import EXIT_LOCKED, EXIT_REFUSED, ConfigError, LockedError
from tests.unit.program.conftest import SOURCES

NOBODY = 65534
HOLD = """
import sys
sys.path.insert(0, sys.argv[1])
from dream_backup import lock
with lock.hold(sys.argv[2]):
    print("held", flush=True)
    sys.stdin.readline()
"""


@pytest.fixture
def lock_path(tmp_path):
    directory = tmp_path / "run-dream-backup"
    return directory / "backup.lock"


@pytest.fixture
def holder():
    """Another process holding the lock until the test ends (synchronised on its 'held' line)."""
    procs = []

    def start(path):
        proc = subprocess.Popen([sys.executable, "-c", HOLD, SOURCES, str(path)], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)
        procs.append(proc)
        assert proc.stdout.readline() == "held\n"
        return proc

    yield start
    for proc in procs:
        proc.stdin.close()
        proc.wait(timeout=600)


def test_first_run_creates_a_private_directory_and_a_private_file_with_its_pid(lock_path):
    with lock.hold(str(lock_path)):
        assert stat.S_IMODE(lock_path.parent.stat().st_mode) == 0o700
        st = lock_path.stat()
        assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == os.geteuid()
        assert lock_path.read_text() == f"{os.getpid()}\n"


def test_the_lock_is_taken_again_after_release_and_the_old_pid_replaced(lock_path):
    lock_path.parent.mkdir(mode=0o700)
    lock_path.write_text("99999999999\n")
    lock_path.chmod(0o600)
    with lock.hold(str(lock_path)):
        pass
    with lock.hold(str(lock_path)):
        assert lock_path.read_text() == f"{os.getpid()}\n"


def test_a_held_lock_is_exit_75_naming_the_holders_pid(lock_path, holder):
    proc = holder(lock_path)
    with pytest.raises(LockedError) as refused, lock.hold(str(lock_path)):
        pytest.fail("the lock was taken twice")
    assert refused.value.exit_code == EXIT_LOCKED == 75
    assert str(refused.value) == f"another run holds the lock {lock_path} (pid {proc.pid})"
    assert lock_path.read_text() == f"{proc.pid}\n"  # the refused run wrote nothing


def test_the_holders_text_is_quoted_never_echoed(lock_path, holder):
    holder(lock_path)
    fd = os.open(lock_path, os.O_WRONLY)
    os.pwrite(fd, b"x\nERROR forged line\x1b[2J", 0)
    os.close(fd)
    with pytest.raises(LockedError) as refused, lock.hold(str(lock_path)):
        pass
    assert "\n" not in str(refused.value) and "\x1b" not in str(refused.value)
    assert "(the lock file holds 'x\\nERROR forged line\\x1b[2J')" in str(refused.value)


def refused(path) -> ConfigError:
    with pytest.raises(ConfigError) as caught, lock.hold(str(path)):
        pytest.fail("a planted lock was used")
    assert caught.value.exit_code == EXIT_REFUSED
    return caught.value


def test_a_symlink_at_the_lock_path_is_refused_and_its_target_untouched(lock_path, tmp_path):
    victim = tmp_path / "shadow"
    victim.write_text("root:x:0:0\n")
    lock_path.parent.mkdir(mode=0o700)
    lock_path.symlink_to(victim)
    assert "is a symbolic link" in str(refused(lock_path))
    assert victim.read_text() == "root:x:0:0\n"


def test_a_fifo_at_the_lock_path_is_refused_without_blocking(lock_path):
    lock_path.parent.mkdir(mode=0o700)
    os.mkfifo(lock_path)
    assert "is a FIFO" in str(refused(lock_path))


def test_a_lock_file_of_another_account_is_refused(lock_path):
    lock_path.parent.mkdir(mode=0o700)
    lock_path.write_text("")
    os.chown(lock_path, NOBODY, NOBODY)
    message = str(refused(lock_path))
    assert message.startswith(f"lock file {lock_path} is a regular file owned by ")
    assert f"uid {NOBODY}" in message and "; refused" in message


def test_a_lock_file_with_a_second_hard_link_is_refused(lock_path, tmp_path):
    lock_path.parent.mkdir(mode=0o700)
    lock_path.write_text("")
    os.link(lock_path, tmp_path / "their-name")
    assert "with 2 hard links" in str(refused(lock_path))


@pytest.mark.parametrize(("mode", "owner"), [(0o777, 0), (0o1777, 0), (0o720, 0), (0o700, NOBODY)])
def test_a_directory_others_could_write_or_own_is_refused(lock_path, mode, owner):
    lock_path.parent.mkdir()
    lock_path.parent.chmod(mode)
    os.chown(lock_path.parent, owner, 0)
    message = str(refused(lock_path))
    assert message.startswith(f"lock directory {lock_path.parent} is a directory owned by")
    assert "another user could create or hold the lock there" in message
    assert not lock_path.exists()


def test_a_symlink_in_place_of_the_directory_is_refused(lock_path, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    lock_path.parent.symlink_to(elsewhere)
    message = str(refused(lock_path))
    assert " is a symbolic link owned by " in message and message.endswith(", not a directory; refused")
    assert list(elsewhere.iterdir()) == []
