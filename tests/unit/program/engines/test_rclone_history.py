"""History with rclone 1.60 (engines/rclone_history.py), with a binary that records its calls and answers
with rclone's lsjson: old versions named by rclone's version tags, delete markers inferred, the state at
a time through a read-only `backupat` remote, and keys always in list files."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from dream_backup.engines.base import BACKUP, SOURCE, Location
from dream_backup.engines.history import UNKNOWN, Version
from dream_backup.engines.rclone import NETWORK_FLAGS, RcloneEngine
from dream_backup.engines.rclone_history import LIST_FLAGS, rfc3339, version_tag
from dream_backup.log import Scrubber

T = datetime(2026, 11, 28, 1, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture
def rclone(scripted, make_config):
    binary = scripted("rclone")
    config = make_config(BACKUP_ENGINE="rclone", RCLONE_PATH=str(binary.path))
    engine = RcloneEngine(config, Scrubber(config.secrets))
    yield binary, engine
    engine.close()


def lsjson(*items) -> str:
    return "[\n" + ",\n".join(json.dumps(item) for item in items) + "\n]\n"


def test_version_tag_and_time_formats():
    assert version_tag(T) == "v2026-11-28-010000-123"
    assert version_tag(None) == ""
    assert rfc3339(T) == "2026-11-28T01:00:00.123456Z"


def test_versions_are_read_from_rclones_version_names(rclone):
    binary, engine = rclone
    old = "2026-11-28T01:00:00.000Z"
    binary.answer(stdout=lsjson(
        {"Path": "dir/a.png", "Size": 3, "ModTime": "2026-11-29T01:00:00Z", "Hashes": {"md5": "m-new"}},
        {"Path": "dir/a-v2026-11-28-010000-000.png", "Size": 2, "ModTime": old, "Hashes": {"md5": "m-old"}},
        {"Path": "gone-v2026-11-28-010000-000", "Size": 1, "ModTime": old},
        # Looks like a tag, but the tag is not the object's own time: a key of its own.
        {"Path": "b-v2020-01-01-000000-000.txt", "Size": 4, "ModTime": old}))
    histories = engine.list_versions(Location(SOURCE, "books"))
    assert binary.calls()[0]["argv"] == ["lsjson", "-R", *LIST_FLAGS, "--s3-versions", *NETWORK_FLAGS,
                                         "source:books"]
    a = histories["dir/a.png"]
    assert [(v.version_id, v.size, v.md5, v.latest) for v in a] == [
        ("v2026-11-29-010000-000", 3, "m-new", True), ("v2026-11-28-010000-000", 2, "m-old", False)]
    gone = histories["gone"]  # only an old version: rclone hid the delete marker on top
    assert gone[0].delete_marker and gone[0].latest and not gone[1].latest
    assert [v.latest for v in histories["b-v2020-01-01-000000-000.txt"]] == [True]


def test_the_state_at_a_time_is_listed_through_a_read_only_copy_of_the_backup_remote(rclone):
    binary, engine = rclone
    binary.answer(stdout=lsjson({"Path": "a.png", "Size": 2, "ModTime": "2026-11-28T01:00:00Z",
                                 "Hashes": {"md5": "m"}}))
    state = engine.state_at(Location(BACKUP, "dcs-backup", "books"), T)
    assert state == {"a.png": Version("a.png", "v2026-11-28-010000-000", datetime(2026, 11, 28, 1, tzinfo=UTC),
                                      2, "m")}
    [call] = binary.calls()
    assert call["argv"][-1] == "backupat:dcs-backup/books"
    env = call["env"]
    assert env["RCLONE_CONFIG_BACKUPAT_VERSION_AT"] == "2026-11-28T01:00:00.123456Z"
    assert env["RCLONE_CONFIG_BACKUPAT_SECRET_ACCESS_KEY"] == env["RCLONE_CONFIG_BACKUP_SECRET_ACCESS_KEY"]
    assert "target-secret" not in " ".join(call["argv"])


def test_copy_of_planned_keys_names_them_in_a_list_file_and_reads_from_the_time_asked(rclone):
    binary, engine = rclone
    binary.answer(stderr=json.dumps({"level": "info", "msg": "Copied (new)", "object": "a b.png"}) + "\n")

    class Plan:
        def __init__(self, *keys):
            self.keys = keys

        def versions(self):
            return (Version(k, "", T, 1) for k in self.keys)

    result = engine.copy_planned(Location(BACKUP, "dcs-backup", "books"), Location(SOURCE, "books"),
                                 Plan("a b.png"), Plan("c.png"), T, 60)
    [call] = binary.calls()
    assert call["argv"][:3] == ["copy", "backupat:dcs-backup/books", "source:books"]
    assert call["files_from"] == "a b.png\nc.png\n"
    assert "--ignore-times" in call["argv"] and not any("a b.png" in arg for arg in call["argv"])
    assert result.copied == 1 and result.keys == []


def test_protection_is_unknown_with_the_reason(rclone):
    _, engine = rclone
    protection = engine.protection("dcs-backup")
    assert (protection.lifecycle, protection.lock_mode) == (UNKNOWN, UNKNOWN)
    assert "rclone 1.60 has no lifecycle or object lock command" in protection.why_unknown
