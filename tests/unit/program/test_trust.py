"""What the root-run job trusts (trust.py): the env file and the engine binary must be root's alone, a
regular file not writable by group or others in directories nobody else can write (a sticky /tmp is
fine), and every link on the way to a binary must lie in such directories too."""

from __future__ import annotations

import os

import pytest

from dream_backup import trust
from dream_backup.errors import EXIT_REFUSED, ConfigError

NOBODY = 65534


@pytest.fixture
def root_dir(tmp_path):
    """A directory only root can write, below directories only root can write (pytest's own)."""
    directory = tmp_path / "etc"
    directory.mkdir(mode=0o755)
    assert trust.directory_problem(str(directory)) is None
    return directory


def make_file(path, mode=0o600, uid=0):
    path.write_text("#!/bin/sh\n")
    os.chown(path, uid, 0)
    path.chmod(mode)
    return path


def opened_check(path, what="env file") -> str | None:
    fd = os.open(path, os.O_RDONLY)
    try:
        trust.check_opened(fd, str(path), what)
    except ConfigError as exc:
        assert exc.exit_code == EXIT_REFUSED
        return str(exc)
    finally:
        os.close(fd)
    return None


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o644, 0o755, 0o400])
def test_a_root_file_nobody_else_can_write_is_trusted(root_dir, mode):
    assert opened_check(make_file(root_dir / "backup.env", mode)) is None


@pytest.mark.parametrize(("mode", "uid", "problem"), [
    (0o620, 0, "writable by group or others"),
    (0o602, 0, "writable by group or others"),
    (0o666, 0, "writable by group or others"),
    (0o600, NOBODY, "not owned by root"),
])
def test_a_file_others_could_write_is_refused(root_dir, mode, uid, problem):
    path = make_file(root_dir / "backup.env", mode, uid)
    message = opened_check(path)
    assert message.startswith(f"env file {path} is a regular file owned by ")
    assert f": {problem}; refused (it must be root's alone, e.g. chown root:root and chmod go-w)" in message


def test_a_directory_is_not_a_file_to_trust(root_dir):
    assert "not a regular file" in opened_check(root_dir)


@pytest.mark.parametrize(("mode", "uid"), [(0o777, 0), (0o775, 0), (0o757, 0), (0o755, NOBODY)])
def test_a_file_in_a_directory_others_control_is_refused(root_dir, mode, uid):
    path = make_file(root_dir / "backup.env")
    os.chown(root_dir, uid, 0)
    root_dir.chmod(mode)
    message = opened_check(path)
    assert message == (f"env file {path} refused: directory {root_dir} is a directory owned by "
                       f"{trust.describe(root_dir.lstat()).split(' owned by ')[1]}: others could replace what is in it")


def test_a_directory_higher_up_counts_too(root_dir):
    deeper = root_dir / "a" / "b"
    deeper.mkdir(parents=True)
    path = make_file(deeper / "backup.env")
    root_dir.chmod(0o777)
    assert f"directory {root_dir} is a directory" in opened_check(path)


def test_a_sticky_world_writable_directory_is_fine(root_dir):
    root_dir.chmod(0o1777)  # like /tmp: nobody can rename or remove a file they do not own
    assert opened_check(make_file(root_dir / "backup.env")) is None


def test_a_symlinked_directory_is_judged_where_it_leads(root_dir, tmp_path):
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o777)
    theirs.chmod(0o777)
    make_file(theirs / "backup.env")
    (root_dir / "link").symlink_to(theirs)
    assert f"directory {theirs} is a directory" in opened_check(root_dir / "link" / "backup.env")


def test_directory_problem_names_a_missing_directory(tmp_path):
    assert trust.directory_problem(str(tmp_path / "absent")) == (
        f"directory {tmp_path / 'absent'} cannot be examined: No such file or directory")


# --- the engine binary -------------------------------------------------------------------------------


def test_a_root_binary_is_returned_resolved(root_dir):
    real = make_file(root_dir / "rclone-1.60", 0o755)
    (root_dir / "rclone").symlink_to("rclone-1.60")
    assert trust.check_binary(str(root_dir / "rclone"), "rclone") == str(real)
    assert trust.check_binary(str(real), "rclone") == str(real)


def test_a_missing_binary_is_returned_as_given(root_dir):
    assert trust.check_binary(str(root_dir / "mc"), "mc") == str(root_dir / "mc")


@pytest.mark.parametrize(("mode", "uid", "problem"), [(0o775, 0, "writable by group or others"),
                                                      (0o757, 0, "writable by group or others"),
                                                      (0o755, NOBODY, "not owned by root")])
def test_a_binary_others_could_write_is_refused_naming_where_the_link_led(root_dir, mode, uid, problem):
    real = make_file(root_dir / "mc.real", mode, uid)
    (root_dir / "mc").symlink_to(real)
    with pytest.raises(ConfigError) as refused:
        trust.check_binary(str(root_dir / "mc"), "mc")
    message = str(refused.value)
    assert message.startswith(f"mc binary {root_dir / 'mc'} (resolved to {real}) is a regular file owned by ")
    assert message.endswith(f": {problem}; refused (root would run whatever another user writes there)")


def test_a_link_in_a_directory_others_control_is_refused_though_its_target_is_roots(root_dir, tmp_path):
    real = make_file(root_dir / "rclone", 0o755)
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    theirs.chmod(0o777)
    (theirs / "rclone").symlink_to(real)  # they could point it anywhere after the check
    with pytest.raises(ConfigError) as refused:
        trust.check_binary(str(theirs / "rclone"), "rclone")
    assert str(refused.value).startswith(
        f"rclone binary {theirs / 'rclone'} refused: the link {theirs / 'rclone'} is in a directory others control")


def test_every_link_of_a_chain_is_examined(root_dir, tmp_path):
    real = make_file(root_dir / "mc", 0o755)
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    theirs.chmod(0o777)
    (theirs / "hop").symlink_to(real)
    (root_dir / "first").symlink_to(theirs / "hop")
    assert trust.link_chain(str(root_dir / "first")) == [str(root_dir / "first"), str(theirs / "hop"), str(real)]
    with pytest.raises(ConfigError, match=r"the link .*/theirs/hop is in a directory others control"):
        trust.check_binary(str(root_dir / "first"), "mc")


def test_a_link_loop_ends(root_dir):
    (root_dir / "a").symlink_to("b")
    (root_dir / "b").symlink_to("a")
    assert len(trust.link_chain(str(root_dir / "a"))) == trust.MAX_LINKS + 1
    assert trust.check_binary(str(root_dir / "a"), "mc") == str(root_dir / "a")  # unresolvable: as missing
