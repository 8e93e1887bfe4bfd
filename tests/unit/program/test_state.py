"""What the guard remembers between runs (state.py): the state directory and its listings are root's alone,
and anything another account could have forged is refused (exit 2) before a bucket is touched."""

from __future__ import annotations

import os

import pytest

from dream_backup import guard
from dream_backup.engines.base import Obj
from dream_backup.errors import ConfigError
from dream_backup.state import StateDir
from tests.unit.program.test_listing import T0, spooled

NOBODY = 65534


def test_state_directory_is_created_root_only_and_a_listing_survives(tmp_path):
    states = StateDir.open(str(tmp_path / "state"))
    assert os.stat(tmp_path / "state").st_mode & 0o777 == 0o700
    assert states.last("books") is None
    listing = spooled(tmp_path, "s", {"a": Obj("a", 1, T0, None), "b": Obj("b", 2, T0, None)})
    states.save("books", listing)
    assert not os.path.exists(listing.path)  # moved, not copied, on the same file system
    assert os.stat(states.file("books")).st_mode & 0o777 == 0o600
    last = StateDir.open(str(tmp_path / "state")).last("books")
    counts = guard.count(spooled(tmp_path, "now", {"a": Obj("a", 1, T0, None)}), spooled(tmp_path, "t", {}), last)
    assert (counts.baseline, counts.deleted, counts.deleted_keys) == (2, 1, ["b"])


def test_dry_run_does_not_create_the_directory(tmp_path):
    assert StateDir.open(str(tmp_path / "state"), create=False).last("books") is None
    assert not (tmp_path / "state").exists()


@pytest.mark.parametrize("tamper", ["dir-group-writable", "dir-link", "file-writable", "file-link",
                                    "file-hardlink", "file-not-a-listing"])
def test_tampered_state_is_refused(tmp_path, tamper):
    directory = tmp_path / "state"
    states = StateDir.open(str(directory))
    states.save("books", spooled(tmp_path, "s", {"a": Obj("a", 1, T0, None)}))
    path = states.file("books")
    if tamper == "dir-group-writable":
        directory.chmod(0o770)
    elif tamper == "dir-link":
        (tmp_path / "elsewhere").symlink_to(directory)
        directory = tmp_path / "elsewhere"
    elif tamper == "file-writable":
        os.chmod(path, 0o620)
    elif tamper == "file-link":
        os.rename(path, path + ".real")
        os.symlink(path + ".real", path)
    elif tamper == "file-hardlink":
        os.link(path, tmp_path / "second-name")
    else:
        with open(path, "wb") as handle:
            handle.write(b"not sqlite at all, " * 100)
    with pytest.raises(ConfigError, match=r"refused|not a listing") as refused:
        StateDir.open(str(directory)).last("books")
    assert refused.value.exit_code == 2


def test_a_state_file_of_another_account_is_refused(tmp_path):
    states = StateDir.open(str(tmp_path / "state"))
    states.save("books", spooled(tmp_path, "s", {"a": Obj("a", 1, T0, None)}))
    os.chown(states.file("books"), NOBODY, NOBODY)
    with pytest.raises(ConfigError, match=r"^guard state file .* owned by .*; refused: it must be root's alone"):
        StateDir.open(str(tmp_path / "state")).last("books")


@pytest.mark.parametrize(("mode", "owner"), [(0o750, NOBODY), (0o777, 0)])
def test_a_state_directory_of_another_account_or_open_to_all_is_refused(tmp_path, mode, owner):
    directory = tmp_path / "state"
    directory.mkdir()
    os.chown(directory, owner, 0)
    directory.chmod(mode)
    with pytest.raises(ConfigError, match="another user could forge what the guard remembers"):
        StateDir.open(str(directory))


def test_a_state_directory_inside_one_others_can_write_is_refused(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)  # not sticky: anyone could rename the state directory away and plant their own
    with pytest.raises(ConfigError, match=r"^state directory .* refused: directory .*shared is a directory"):
        StateDir.open(str(shared / "state"))


def test_a_leftover_of_an_interrupted_save_is_replaced(tmp_path):
    states = StateDir.open(str(tmp_path / "state"))
    with open(states.file("books") + ".new", "wb") as handle:
        handle.write(b"half a file")
    states.save("books", spooled(tmp_path, "s", {"a": Obj("a", 1, T0, None)}))
    assert not os.path.exists(states.file("books") + ".new")
    assert StateDir.open(str(tmp_path / "state")).last("books") is not None
