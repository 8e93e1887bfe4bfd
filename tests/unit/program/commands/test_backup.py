"""`dream-backup backup` (commands/backup.py): where a bucket is mirrored, the metric samples of a run and
its summary. The backup itself against real servers: tests/integration/test_backup_program.py,
test_failures_visible.py, test_guard.py and test_backup_faults.py."""

from __future__ import annotations

import time

from dream_backup.commands import backup
from dream_backup.engines.base import BACKUP, SOURCE, Location


def test_a_bucket_is_mirrored_below_the_target_prefix(make_config):
    assert backup.mirror_locations(make_config(), "books") == (Location(SOURCE, "books"),
                                                               Location(BACKUP, "dcs-backup", "books"))
    assert backup.mirror_locations(make_config(BACKUP_TARGET_PREFIX="vps-1/minio"), "apps")[1] == \
        Location(BACKUP, "dcs-backup", "vps-1/minio/apps")


def test_samples_of_a_run_and_a_last_success_only_for_ok_buckets():
    before = time.time()
    samples = backup.bucket_samples({
        "books": backup.BucketResult(verdict="ok", objects=3, bytes=30, seconds=1.5, guard_changed=1,
                                     guard_deleted=2, unstorable=1),
        "apps": backup.BucketResult(verdict="held", held=True, reason="guard")})
    assert samples[("dream_backup_bucket_success", "books")] == 1
    assert samples[("dream_backup_objects", "books")] == 3 and samples[("dream_backup_bytes", "books")] == 30
    assert samples[("dream_backup_changed_objects", "books")] == 1
    assert samples[("dream_backup_deleted_objects", "books")] == 2
    assert samples[("dream_backup_unstorable_objects", "books")] == 1
    assert samples[("dream_backup_last_success_timestamp_seconds", "books")] >= before
    assert samples[("dream_backup_bucket_success", "apps")] == 0
    assert samples[("dream_backup_bucket_held", "apps")] == 1
    assert ("dream_backup_last_success_timestamp_seconds", "apps") not in samples


def test_summary_names_each_bucket_and_the_outcome_on_one_line(capsys):
    backup.print_summary({"books": backup.BucketResult(verdict="failed", reason="a\nforged line")}, "1 failed")
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["bucket", "verdict", "copied", "bytes", "duration", "verified", "reason"]
    assert out[2].startswith("books") and out[2].endswith("a\\x0aforged line")
    assert out[-1] == "Backup failed: 1 failed"
    backup.print_summary({}, None)
    assert capsys.readouterr().out == "Backup completed\n"


def test_who_accepted_a_held_night_is_the_sudo_caller(monkeypatch):
    monkeypatch.setenv("SUDO_USER", "alice")
    assert backup.accepted_by() == "alice"
    monkeypatch.delenv("SUDO_USER")
    assert backup.accepted_by()
