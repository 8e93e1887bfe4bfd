"""verify-content: sha256 of both copies of every object in one slice, against the real S3 test world.

Which objects a run read is taken from the engines' recorded argv (every mc `cat` names its object; an
rclone `cat` reads its name from a list the wrapper records), so "not read" is proven, not assumed."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter

import pytest

from tests.integration.conftest import books_backed_up
from tests.support.program import FILE_LIST, REPO

sys.path.insert(0, str(REPO / "src"))
from dream_backup.commands.verify_content import slice_of

SLICES = 3
OBJECTS = 12  # several in each slice


def reads(d, since: int) -> Counter:
    """(side, key) of every object an engine streamed (`cat`) after byte ``since`` of the argv log: mc
    names it on its argv; rclone reads it from a list, which the wrapper records as FILE_LIST lines
    that name the listed folder and the name."""
    found: Counter = Counter()
    for line in d.recorded_argv()[since:].splitlines():
        if line.startswith(FILE_LIST + " "):
            _, folder, name = line.split(" ", 2)
            side, _, path = folder.partition(":")
        else:
            argv = json.loads(line) if line.startswith("[") else line.split()
            if argv[0] != "mc" or "cat" not in argv:
                continue
            side, _, path = argv[-1].partition("/")
            name = ""
        key = "/".join(p for p in (path.split("/", 3 if side == "backup" else 1)[-1] if "/" in path else "", name)
                       if p)
        found[(side, key)] += 1
    return found


def verify(d, *args):
    since = len(d.recorded_argv())
    run = d.run("verify-content", "--json", *args)
    return run, json.loads(run.stdout) if run.stdout.startswith("{") else None, reads(d, since)


@pytest.mark.parametrize("engine", ["rclone", "mc"])
def test_slices_together_read_every_object_exactly_once(deploy, engine):
    d = deploy(engine)
    books, bodies = books_backed_up(d, OBJECTS)
    total: Counter = Counter()
    for number in range(1, SLICES + 1):
        run, doc, read = verify(d, "--bucket", books, "--slice", f"{number}/{SLICES}")
        assert run.code == 0 and doc["verdict"] == "pass", run.stderr
        in_slice = {k for k in bodies if slice_of(k, SLICES) == number}
        assert {key for _, key in read} == in_slice
        assert doc["buckets"][0]["verified"] == doc["buckets"][0]["match"] == len(in_slice)
        assert run.messages()[-2:] == ["Starting content verification", "Completed content verification"]
        total += read
    assert total == Counter({(side, key): 1 for key in bodies for side in ("source", "backup")})


@pytest.mark.parametrize("engine", ["rclone", "mc"])
def test_corrupt_backup_object_is_named_only_by_its_own_slice(deploy, engine):
    d = deploy(engine)
    books, bodies = books_backed_up(d, OBJECTS)
    key = "book-05/page.txt"
    mine = slice_of(key, SLICES)
    other = mine % SLICES + 1
    d.put(d.target_bucket, d.backup_key(books, key), b"X" * len(bodies[key]), side="backup")
    run, doc, read = verify(d, "--bucket", books, "--slice", f"{other}/{SLICES}")
    assert run.code == 0 and doc["verdict"] == "pass"
    assert key not in {k for _, k in read} and read  # the slice was read, the corrupt object was not
    run, doc, read = verify(d, "--bucket", books, "--slice", f"{mine}/{SLICES}")
    assert run.code == 1 and doc["verdict"] == "fail"
    assert [(o["key"], o["verdict"]) for o in doc["objects"]] == [(key, "corrupt")]
    assert doc["buckets"][0]["corrupt"] == 1
    assert key in run.last("Content verification failed")["reason"]
    assert read[("backup", key)] == 1 and read[("source", key)] == 1


def test_production_change_after_backup_is_stale(deploy):
    d = deploy()
    books, _ = books_backed_up(d, OBJECTS)
    key = "book-02/page.txt"
    time.sleep(1.1)  # servers keep whole seconds: an edit in the backup's own second is not "newer"
    d.put(books, key, b"edited in production after the backup")
    run, doc, _ = verify(d, "--bucket", books, "--slice", f"{slice_of(key, SLICES)}/{SLICES}")
    assert run.code == 0 and doc["verdict"] == "pass"
    assert [(o["key"], o["verdict"]) for o in doc["objects"]] == [(key, "stale")]
    assert run.messages()[-1] == "Completed content verification"


def test_metrics_and_the_days_slice(deploy, tmp_path):
    metrics = tmp_path / "dream_backup.prom"
    d = deploy(BACKUP_METRICS_FILE=str(metrics), BACKUP_VERIFY_SLICES="1")
    books, bodies = books_backed_up(d, 4)
    run, doc, read = verify(d, "--bucket", books)  # one slice: today's is 1/1, every object
    assert run.code == 0 and doc["slice"] == "1/1"
    assert {k for _, k in read} == set(bodies)
    text = metrics.read_text()
    assert f'dream_backup_content_verified_objects{{bucket="{books}"}} 4' in text
    assert f'dream_backup_content_corrupt_objects{{bucket="{books}"}} 0' in text
    assert f'dream_backup_content_last_full_cycle_timestamp_seconds{{bucket="{books}"}}' in text
    # A first slice of several does not end a cycle.
    d.write_env(BACKUP_METRICS_FILE=str(metrics), BACKUP_VERIFY_SLICES="30")
    metrics.unlink()
    run, _, _ = verify(d, "--bucket", books, "--slice", "1/2")
    assert run.code == 0 and "last_full_cycle" not in metrics.read_text()


@pytest.mark.parametrize("value", ["0/3", "4/3", "2", "a/b"])
def test_bad_slice_is_refused(deploy, value):
    d = deploy()
    run = d.run("verify-content", "--slice", value)
    assert run.code == 2
    assert "--slice" in run.last("Content verification failed")["reason"]


def test_rclone_reads_objects_without_their_keys_on_its_argv(deploy):
    """Any account can read /proc/*/cmdline: with rclone, object keys (production data) stay off argv in
    content verification, drills and restores; they reach rclone in a root-only list file."""
    d = deploy("rclone")
    books, bodies = books_backed_up(d, 4)
    since = len(d.recorded_argv())
    assert d.run("verify-content", "--bucket", books, "--slice", "1/1").code == 0
    assert d.run("drill", "--bucket", books, "--samples", "4").code == 0
    assert d.run("restore", "--bucket", books, "--to-bucket", f"copy-{d.token}").code == 0
    argv_lines = [line for line in d.recorded_argv()[since:].splitlines() if not line.startswith(FILE_LIST)]
    assert any(" cat " in f" {line} " for line in argv_lines)
    for key in bodies:
        assert not any(key in line for line in argv_lines), key
    assert sum(1 for (_, key) in reads(d, since) if key in bodies) >= 2 * len(bodies)
