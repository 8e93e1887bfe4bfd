"""The Prometheus textfile: replaced whole (temp file + rename) so the node exporter never reads half of
it, readable by the exporter, and every series of earlier runs not in this update kept."""

from __future__ import annotations

import os
import stat

import pytest

from dream_backup import metrics
from dream_backup.errors import ConfigError


@pytest.fixture
def prom(tmp_path):
    return tmp_path / "dream_backup.prom"


def test_first_write_has_help_type_and_labelled_series(prom):
    metrics.update(str(prom), {("dream_backup_exit_code", ""): 0,
                               ("dream_backup_bucket_success", "books"): 1,
                               ("dream_backup_duration_seconds", "books"): 12.3456})
    assert prom.read_text(encoding="utf-8") == "\n".join([
        "# HELP dream_backup_bucket_success 1 if the last mirror of the bucket succeeded and was verified, else 0.",
        "# TYPE dream_backup_bucket_success gauge",
        'dream_backup_bucket_success{bucket="books"} 1',
        "# HELP dream_backup_duration_seconds Duration of the last mirror of the bucket.",
        "# TYPE dream_backup_duration_seconds gauge",
        'dream_backup_duration_seconds{bucket="books"} 12.346',
        "# HELP dream_backup_exit_code Exit code of the last backup run.",
        "# TYPE dream_backup_exit_code gauge",
        "dream_backup_exit_code 0",
    ]) + "\n"


@pytest.mark.parametrize(("value", "text"), [
    (1.0, "1"), (2.5, "2.5"), (0.0, "0"), (1764291600.123456, "1764291600.123"), (7, "7"),
])
def test_values_are_written_without_trailing_zeros(prom, value, text):
    metrics.update(str(prom), {("dream_backup_objects", "books"): value})
    assert f'dream_backup_objects{{bucket="books"}} {text}\n' in prom.read_text(encoding="utf-8")


def test_other_buckets_and_metrics_of_earlier_runs_are_kept(prom):
    metrics.update(str(prom), {("dream_backup_last_success_timestamp_seconds", "books"): 100,
                               ("dream_backup_bucket_success", "books"): 1,
                               ("dream_backup_bucket_success", "trash"): 1})
    metrics.update(str(prom), {("dream_backup_drill_last_success_timestamp_seconds", "trash"): 300})
    metrics.update(str(prom), {("dream_backup_bucket_success", "books"): 0})
    lines = prom.read_text(encoding="utf-8").splitlines()
    assert 'dream_backup_last_success_timestamp_seconds{bucket="books"} 100' in lines
    assert 'dream_backup_bucket_success{bucket="books"} 0' in lines
    assert 'dream_backup_bucket_success{bucket="books"} 1' not in lines
    assert 'dream_backup_bucket_success{bucket="trash"} 1' in lines
    assert 'dream_backup_drill_last_success_timestamp_seconds{bucket="trash"} 300' in lines
    assert lines.count("# TYPE dream_backup_bucket_success gauge") == 1


def test_the_file_is_replaced_never_rewritten_in_place(prom):
    metrics.update(str(prom), {("dream_backup_exit_code", ""): 0})
    before = prom.read_text(encoding="utf-8")
    with open(prom, encoding="utf-8") as reader:  # the node exporter in the middle of a read
        inode = os.fstat(reader.fileno()).st_ino
        metrics.update(str(prom), {("dream_backup_exit_code", ""): 1})
        assert reader.read() == before  # the old file, whole
    assert os.stat(prom).st_ino != inode
    assert "dream_backup_exit_code 1\n" in prom.read_text(encoding="utf-8")
    assert sorted(p.name for p in prom.parent.iterdir()) == [prom.name]  # no temp file left behind


def test_the_file_is_world_readable_and_nothing_more_whatever_the_umask(prom):
    old = os.umask(0o077)
    try:
        metrics.update(str(prom), {("dream_backup_exit_code", ""): 0})
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(prom).st_mode) == 0o644
    prom.chmod(0o600)
    metrics.update(str(prom), {("dream_backup_exit_code", ""): 0})
    assert stat.S_IMODE(os.stat(prom).st_mode) == 0o644


def test_lines_it_does_not_know_are_dropped(prom):
    prom.write_text('# a comment\nnode_other_metric 5\ndream_backup_exit_code 1\ngarbage line here\n',
                    encoding="utf-8")
    metrics.update(str(prom), {("dream_backup_objects", "books"): 2})
    text = prom.read_text(encoding="utf-8")
    assert "dream_backup_exit_code 1\n" in text and 'dream_backup_objects{bucket="books"} 2\n' in text
    assert "node_other_metric" not in text and "garbage" not in text


def test_a_symlink_at_the_path_is_refused_and_nothing_is_written(prom, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    victim = elsewhere / "victim"
    victim.write_text("keep\n", encoding="utf-8")
    prom.symlink_to(victim)
    with pytest.raises(OSError, match="is a symbolic link"):
        metrics.update(str(prom), {("dream_backup_exit_code", ""): 0})
    assert victim.read_text(encoding="utf-8") == "keep\n"
    assert prom.is_symlink()
    assert sorted(p.name for p in prom.parent.iterdir()) == sorted([prom.name, "elsewhere"])


def test_check_writable(tmp_path):
    metrics.check_writable(str(tmp_path / "backup.prom"))
    with pytest.raises(ConfigError, match=r"metrics directory .*absent does not exist or is not writable"):
        metrics.check_writable(str(tmp_path / "absent" / "backup.prom"))


def test_metrics_label_values_are_escaped_and_read_back(tmp_path):
    path = tmp_path / "dream.prom"
    hostile = 'a"b\\c\nd} 1'
    metrics.update(str(path), {("dream_backup_objects", hostile): 3, ("dream_backup_objects", "books"): 1})
    text = path.read_text()
    assert 'dream_backup_objects{bucket="a\\"b\\\\c\\nd} 1"} 3' in text.splitlines()
    series = [line for line in text.splitlines() if not line.startswith("#")]
    assert len(series) == 2
    metrics.update(str(path), {("dream_backup_objects", "books"): 2})  # re-reads and keeps the escaped series
    again = path.read_text().splitlines()
    assert 'dream_backup_objects{bucket="a\\"b\\\\c\\nd} 1"} 3' in again
    assert 'dream_backup_objects{bucket="books"} 2' in again
    assert len([line for line in again if not line.startswith("#")]) == 2
