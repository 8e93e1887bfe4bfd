"""Opening the files a root-run job writes (safe_open.py) as an attacker would test them: never through a
symlink, never blocking on a FIFO, never into another account's file, never truncating a hard link, and
created files get the mode asked for."""

from __future__ import annotations

import fcntl
import os
import stat

import pytest

from dream_backup import safe_open
from dream_backup.errors import EXIT_REFUSED, ConfigError

NOBODY = 65534


def refusal(call, *args) -> str:
    with pytest.raises(ConfigError) as caught:
        fd = call(*args)
        os.close(fd)
    assert caught.value.exit_code == EXIT_REFUSED
    return str(caught.value)


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def test_guard_flags_never_follow_block_or_take_a_terminal():
    for flag in (os.O_NOFOLLOW, os.O_NONBLOCK, os.O_NOCTTY, os.O_CLOEXEC):
        assert safe_open.GUARD & flag


@pytest.mark.parametrize(("call", "mode"), [(safe_open.open_append, 0o640), (safe_open.open_replace, 0o644)])
def test_created_files_get_their_mode_whatever_the_umask_leaves(tmp_path, call, mode):
    path = tmp_path / "out"
    old = os.umask(0o022)
    try:
        fd = call(str(path), "log file")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.fstat(fd).st_mode) == mode
    # The descriptor blocks again (O_NONBLOCK is only for the open) and is not inherited by children.
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    assert not flags & os.O_NONBLOCK
    assert not os.get_inheritable(fd)
    os.close(fd)


def test_append_keeps_what_is_there_and_replace_starts_empty(tmp_path):
    path = tmp_path / "out"
    path.write_text("first\n")
    fd = safe_open.open_append(str(path), "log file")
    os.write(fd, b"second\n")
    os.close(fd)
    assert path.read_text() == "first\nsecond\n"
    fd = safe_open.open_replace(str(path), "HTML report")
    os.write(fd, b"new\n")
    os.close(fd)
    assert path.read_text() == "new\n"


@pytest.mark.parametrize("call", [safe_open.open_append, safe_open.open_replace])
def test_a_symlink_is_never_followed(tmp_path, call):
    victim = tmp_path / "shadow"
    victim.write_text("root:x:0:0\n")
    (tmp_path / "log").symlink_to(victim)
    message = refusal(call, str(tmp_path / "log"), "log file")
    assert message.startswith(f"log file {tmp_path / 'log'} is a symbolic link owned by ")
    assert message.endswith(", not a regular file; refused")
    assert victim.read_text() == "root:x:0:0\n"


def test_a_dangling_symlink_creates_nothing_at_its_target(tmp_path):
    (tmp_path / "log").symlink_to(tmp_path / "created-by-root")
    assert "is a symbolic link" in refusal(safe_open.open_append, str(tmp_path / "log"), "log file")
    assert not (tmp_path / "created-by-root").exists()


def test_a_fifo_without_a_reader_is_refused_at_once(tmp_path):
    os.mkfifo(tmp_path / "log")
    message = refusal(safe_open.open_append, str(tmp_path / "log"), "log file")
    assert "is a FIFO" in message and message.endswith("not a regular file; refused")


def test_a_fifo_with_a_reader_is_refused_and_its_descriptor_closed(tmp_path):
    os.mkfifo(tmp_path / "log")
    reader = os.open(tmp_path / "log", os.O_RDONLY | os.O_NONBLOCK)
    try:
        before = open_fds()
        message = refusal(safe_open.open_append, str(tmp_path / "log"), "log file")
        assert open_fds() == before
    finally:
        os.close(reader)
    assert "is a FIFO" in message


def test_a_directory_is_refused(tmp_path):
    (tmp_path / "log").mkdir()
    assert "is a directory" in refusal(safe_open.open_regular, str(tmp_path / "log"), os.O_RDONLY, "log file")


def test_a_file_another_account_planted_is_never_written(tmp_path):
    planted = tmp_path / "metrics.prom"
    planted.write_text("theirs\n")
    os.chown(planted, NOBODY, NOBODY)
    for call in (safe_open.open_append, safe_open.open_replace):
        message = refusal(call, str(planted), "metrics file")
        assert message.endswith("; refused: root writes only into its own files")
        assert f"uid {NOBODY}" in message
    assert planted.read_text() == "theirs\n"


def test_another_accounts_file_may_be_read(tmp_path):
    theirs = tmp_path / "theirs"
    theirs.write_text("data")
    os.chown(theirs, NOBODY, NOBODY)
    fd = safe_open.open_regular(str(theirs), os.O_RDONLY, "input")
    assert os.read(fd, 10) == b"data"
    os.close(fd)


def test_replace_refuses_a_hard_link_before_truncating_it(tmp_path):
    other = tmp_path / "passwd"
    other.write_text("keep me\n")
    os.link(other, tmp_path / "report.html")
    before = open_fds()
    message = refusal(safe_open.open_replace, str(tmp_path / "report.html"), "HTML report")
    assert message == (f"HTML report {tmp_path / 'report.html'} has other hard links; "
                       "refused (writing it would change them)")
    assert other.read_text() == "keep me\n"
    assert open_fds() == before


def test_a_missing_directory_names_the_path_and_the_reason(tmp_path):
    path = tmp_path / "absent" / "log"
    assert refusal(safe_open.open_append, str(path), "log file") == \
        f"log file {path} is not writable: No such file or directory"


def test_relative_to_a_directory_descriptor_a_symlink_is_still_refused(tmp_path):
    (tmp_path / "lock").symlink_to(tmp_path / "elsewhere")
    dir_fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        message = refusal(safe_open.open_regular, str(tmp_path / "lock"), os.O_RDWR | os.O_CREAT, "lock file",
                          0o600, dir_fd)
    finally:
        os.close(dir_fd)
    assert "is a symbolic link" in message and not (tmp_path / "elsewhere").exists()


def test_describe_names_kind_owner_and_mode(tmp_path):
    path = tmp_path / "f"
    path.write_text("")
    os.chown(path, NOBODY, 0)
    path.chmod(0o4755)  # after chown, which clears set-uid
    assert safe_open.describe(path.lstat()) in (f"a regular file owned by nobody (uid {NOBODY}), mode 4755",
                                                f"a regular file owned by uid {NOBODY}, mode 4755")
    assert safe_open.kind(stat.S_IFSOCK) == "a socket" and safe_open.kind(0) == "an unknown kind of file"
    assert safe_open.owner(0) == "root (uid 0)"
