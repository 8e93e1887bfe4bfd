"""backup_cron: schedule validation, the job line, modes, idempotence, check and diff mode."""

from __future__ import annotations

import stat

import pytest

from tests.unit.conftest import tree_snapshot

COMMAND = "/usr/local/bin/dream-backup.sh"


def args(tmp_path, **overrides):
    base = {"name": "dream-storage-backup", "schedule": "17 2 * * *", "command": COMMAND,
            "cron_dir": str(tmp_path)}
    base.update(overrides)
    return base


def test_job_line_and_file_mode(run_module, tmp_path):
    result = run_module("backup_cron", args(tmp_path, environment={"PATH": "/usr/local/bin:/usr/bin:/bin",
                                                                   "MAILTO": ""}))
    path = tmp_path / "dream-storage-backup"
    text = path.read_text()
    assert result["changed"] is True
    assert text.endswith(
        "17 2 * * * root /usr/local/bin/dream-backup.sh >> /var/log/minio-backup.cron.log 2>&1\n")
    assert "PATH=/usr/local/bin:/usr/bin:/bin\nMAILTO=\n" in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert (path.stat().st_uid, path.stat().st_gid) == (0, 0)
    assert result["line"] == text.splitlines()[-1]


def test_percent_is_escaped(run_module, tmp_path):
    run_module("backup_cron", args(tmp_path, command="date +%F && /usr/local/bin/dream-backup.sh"))
    assert "date +\\%F && " in (tmp_path / "dream-storage-backup").read_text()


@pytest.mark.parametrize("schedule", ["*/15 * * * *", "0 1-5/2 * jan-mar mon,fri", "@daily", "5 4 * * 7",
                                      "0 0 1,15 * *", "30 3 * DEC sun"])
def test_valid_schedules(run_module, tmp_path, schedule):
    assert run_module("backup_cron", args(tmp_path, schedule=schedule))["changed"] is True


@pytest.mark.parametrize(("schedule", "words"), [
    ("17 2 * *", "five fields"),
    ("60 2 * * *", "minute"),
    ("0 24 * * *", "hour"),
    ("0 0 0 * *", "day of month"),
    ("0 0 * 13 *", "month"),
    ("0 0 * * 8", "day of week"),
    ("0 0 * foo *", "month"),
    ("*/0 * * * *", "step"),
    ("5-1 * * * *", "backwards"),
    ("@sometimes", "@daily"),
    ("1,,2 * * * *", "empty"),
])
def test_invalid_schedules_named(run_module, tmp_path, schedule, words):
    result = run_module("backup_cron", args(tmp_path, schedule=schedule))
    assert result["failed"] is True
    assert "schedule" in result["msg"] and words in result["msg"]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("field", "value", "named"), [
    ("name", "dream.backup", "name"),
    ("user", "root; rm", "user"),
    ("log", "relative.log", "log"),
    ("environment", {"BAD-NAME": "x"}, "BAD-NAME"),
    ("command", "", "command"),
])
def test_invalid_fields_named(run_module, tmp_path, field, value, named):
    result = run_module("backup_cron", args(tmp_path, **{field: value}))
    assert result["failed"] is True and named in result["msg"]


def test_idempotent_and_check_mode(run_module, tmp_path):
    before = tree_snapshot(tmp_path)
    assert run_module("backup_cron", args(tmp_path), check=True)["changed"] is True
    assert tree_snapshot(tmp_path) == before
    run_module("backup_cron", args(tmp_path))
    assert run_module("backup_cron", args(tmp_path))["changed"] is False
    before = tree_snapshot(tmp_path)
    assert run_module("backup_cron", args(tmp_path, schedule="0 3 * * *"), check=True)["changed"] is True
    assert tree_snapshot(tmp_path) == before


def test_diff_shows_before_and_after(run_module, tmp_path):
    run_module("backup_cron", args(tmp_path))
    result = run_module("backup_cron", args(tmp_path, schedule="0 3 * * *"), diff=True)
    assert "17 2 * * * root" in result["diff"]["before"]
    assert "0 3 * * * root" in result["diff"]["after"]


def test_absent_removes_and_is_idempotent(run_module, tmp_path):
    run_module("backup_cron", args(tmp_path))
    assert run_module("backup_cron", args(tmp_path, state="absent"), check=True)["changed"] is True
    assert (tmp_path / "dream-storage-backup").exists()
    assert run_module("backup_cron", args(tmp_path, state="absent"))["changed"] is True
    assert not (tmp_path / "dream-storage-backup").exists()
    assert run_module("backup_cron", args(tmp_path, state="absent"))["changed"] is False


def test_missing_cron_dir_fails_clearly(run_module, tmp_path):
    result = run_module("backup_cron", dict(args(tmp_path), cron_dir=str(tmp_path / "nope")))
    assert result["failed"] is True and "does not exist" in result["msg"]
    checked = run_module("backup_cron", dict(args(tmp_path), cron_dir=str(tmp_path / "nope")), check=True)
    assert checked["changed"] is True and not (tmp_path / "nope").exists()
