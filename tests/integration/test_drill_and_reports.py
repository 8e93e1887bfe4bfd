"""Restore drill, check, ls, metrics and healthcheck pings against the real S3 test world."""

from __future__ import annotations

import json
import os
import re
import time

import pytest

from tests.integration.conftest import books_backed_up, sha256
from tests.support.http_files import FileServer


def drill(d, *args):
    run = d.run("drill", "--json", "--samples", "50", "--seed", "7", *args)
    return run, json.loads(run.stdout)


@pytest.mark.parametrize("engine", ["rclone", "mc"])
def test_drill_passes_and_records_the_logbook(deploy, engine):
    d = deploy(engine)
    books, bodies = books_backed_up(d)
    run, doc = drill(d, "--bucket", books)
    assert run.code == 0 and doc["verdict"] == "pass"
    assert {o["key"] for o in doc["objects"]} == set(bodies)
    for o in doc["objects"]:
        assert o["verdict"] == "match"
        assert o["sha256_backup"] == o["sha256_source"] == sha256(bodies[o["key"]])
        assert o["size"] == len(bodies[o["key"]])
    record = json.loads((d.root / "minio-restore-drill.log").read_text().splitlines()[-1])
    assert record["verdict"] == "pass" and record["host"] and record["objects"] == doc["objects"]


def test_drill_names_a_corrupted_backup_object(deploy, tmp_path):
    metrics = tmp_path / "metrics.prom"
    d = deploy(BACKUP_METRICS_FILE=str(metrics))
    books, bodies = books_backed_up(d)
    key = "book-03/page.txt"
    d.put(d.target_bucket, d.backup_key(books, key), b"X" * len(bodies[key]), side="backup")
    run, doc = drill(d, "--bucket", books)
    assert run.code == 1 and doc["verdict"] == "fail"
    # The failed drill is a series an alert can fire on; no time of a last pass is invented for it.
    text = metrics.read_text()
    assert f'dream_backup_drill_success{{bucket="{books}"}} 0' in text
    assert "dream_backup_drill_last_success_timestamp_seconds" not in text
    verdicts = {o["key"]: o["verdict"] for o in doc["objects"]}
    assert verdicts[key] == "corrupt"
    assert all(v == "match" for k, v in verdicts.items() if k != key)
    corrupted = next(o for o in doc["objects"] if o["key"] == key)
    assert corrupted["sha256_backup"] == sha256(b"X" * len(bodies[key]))
    assert corrupted["sha256_source"] == sha256(bodies[key])
    assert key in run.last("Drill failed")["reason"]
    table = d.run("drill", "--samples", "50", "--bucket", books)
    assert re.search(rf"{re.escape(key)}\s.*corrupt", table.stdout)


@pytest.mark.parametrize("engine", ["rclone", "mc"])
def test_one_byte_deep_inside_a_large_object_is_corrupt_with_each_copys_own_hash(deploy, engine):
    """The copies are compared block by block and hashed once while they agree: a byte changed past the
    first few MiB still makes the sample corrupt, and each side's sha256 and size are its own bytes'."""
    d = deploy(engine)
    books = d.buckets[0]
    body = os.urandom(5 * 1024 * 1024 + 321)
    d.put(books, "video.mp4", body)
    assert d.run().code == 0
    damaged = body[:4 * 1024 * 1024 + 9] + b"\x00" + body[4 * 1024 * 1024 + 10:] + b"tail"
    d.put(d.target_bucket, d.backup_key(books, "video.mp4"), damaged, side="backup")
    run, doc = drill(d, "--bucket", books)
    assert run.code == 1 and doc["verdict"] == "fail"
    [record] = doc["objects"]
    assert record["verdict"] == "corrupt"
    assert (record["sha256_backup"], record["size"]) == (sha256(damaged), len(damaged))
    assert (record["sha256_source"], record["source_size"]) == (sha256(body), len(body))


def test_production_change_after_backup_is_stale_not_failed(deploy):
    d = deploy()
    books, _ = books_backed_up(d)
    key = "book-02/page.txt"
    time.sleep(1.1)  # servers keep whole seconds: an edit in the backup's own second is not "newer"
    d.put(books, key, b"edited in production after the backup")
    run, doc = drill(d, "--bucket", books)
    assert run.code == 0 and doc["verdict"] == "pass"
    assert {o["key"]: o["verdict"] for o in doc["objects"]}[key] == "stale"


def test_key_deleted_at_source_is_counted_never_sampled(deploy):
    d = deploy()
    books, _ = books_backed_up(d)
    d.src.remove_object(books, "book-00/page.txt")
    run, doc = drill(d, "--bucket", books)
    assert run.code == 0
    assert "book-00/page.txt" not in {o["key"] for o in doc["objects"]}
    summary = doc["buckets"][0]
    assert summary["only_in_backup"] == 1 and summary["samples"] == 5


def test_bucket_with_source_objects_and_no_backup_fails(deploy):
    d = deploy()
    _books, _ = books_backed_up(d)
    apps = d.buckets[1]
    d.put(apps, "never-backed-up.apk", b"apk")
    run, doc = drill(d, "--bucket", apps)
    assert run.code == 1 and doc["buckets"][0]["verdict"] == "fail"
    assert "none" in doc["buckets"][0]["note"]
    empty = d.buckets[2]
    run, doc = drill(d, "--bucket", empty)
    assert run.code == 0 and "empty" in doc["buckets"][0]["note"]


def test_drill_memory_stays_flat_for_a_large_object(deploy):
    """Streams, never loads: the program's peak RSS stays far below the object's size."""
    d = deploy()
    books = d.buckets[0]
    d.put(books, "video.mp4", os.urandom(96 * 1024 * 1024))
    assert d.run().code == 0
    run = d.run("drill", "--json", "--bucket", books, measure_rss=True)
    assert run.code == 0 and json.loads(run.stdout)["objects"][0]["verdict"] == "match"
    assert run.peak_rss_kib < 50 * 1024, f"peak RSS {run.peak_rss_kib} KiB for a 96 MiB object"


def test_metrics_and_healthcheck_pings(deploy, tmp_path):
    with FileServer({"/ping/abc": b"OK", "/ping/abc/start": b"OK", "/ping/abc/fail": b"OK"}) as pings:
        metrics = tmp_path / "metrics.prom"
        d = deploy(BACKUP_METRICS_FILE=str(metrics), BACKUP_HEALTHCHECK_URL=pings.base + "/ping/abc")
        books, bodies = books_backed_up(d)
        text = metrics.read_text()
        assert f'dream_backup_bucket_success{{bucket="{books}"}} 1' in text
        assert f'dream_backup_objects{{bucket="{books}"}} {len(bodies)}' in text
        assert f'dream_backup_bytes{{bucket="{books}"}} {sum(map(len, bodies.values()))}' in text
        assert "dream_backup_exit_code 0" in text
        assert re.search(r"dream_backup_last_run_timestamp_seconds \d+", text)
        assert re.search(rf'dream_backup_last_success_timestamp_seconds{{bucket="{books}"}} \d+', text)
        assert re.search(rf'dream_backup_duration_seconds{{bucket="{books}"}} [\d.]+', text)
        assert [r.path for r in pings.requests] == ["/ping/abc/start", "/ping/abc"]
        assert d.run("drill", "--bucket", books).code == 0
        assert f'dream_backup_drill_last_success_timestamp_seconds{{bucket="{books}"}}' in metrics.read_text()
        assert f'dream_backup_drill_success{{bucket="{books}"}} 1' in metrics.read_text()

        pings.requests.clear()
        d.write_env(MINIO_BACKUP_BUCKETS=",".join([*d.buckets, "missing-" + d.token]))
        assert d.run().code == 1
        text = metrics.read_text()
        assert f'dream_backup_bucket_success{{bucket="missing-{d.token}"}} 0' in text
        assert f'dream_backup_bucket_success{{bucket="{books}"}} 1' in text
        assert "dream_backup_exit_code 1" in text
        assert [r.path for r in pings.requests] == ["/ping/abc/start", "/ping/abc/fail"]
        assert b"missing-" in pings.requests[-1].body


def test_failed_ping_is_logged_and_changes_nothing(deploy):
    d = deploy(BACKUP_HEALTHCHECK_URL="http://127.0.0.1:9/unreachable")
    _books, _ = books_backed_up(d)
    run = d.run()
    assert run.code == 0
    assert "Healthcheck ping failed" in run.messages()


@pytest.mark.parametrize("engine", ["rclone", "mc"])
def test_check_and_ls_good_and_broken(deploy, engine):
    d = deploy(engine)
    books, bodies = books_backed_up(d)
    good = d.run("check", "--json")
    assert good.code == 0 and json.loads(good.stdout)["ok"] is True
    listing = d.run("ls", "backup", books, "--json")
    assert listing.code == 0
    assert {o["key"] for o in json.loads(listing.stdout)} == set(bodies)
    human = d.run("ls", "source", f"{books}/book-01")
    assert "book-01/page.txt" not in human.stdout and "page.txt" in human.stdout and "1 objects" in human.stdout
    d.write_env(BACKUP_TARGET_SECRET_KEY="wrong-secret-value-123456")
    broken = d.run("check", "--json")
    doc = json.loads(broken.stdout)
    assert broken.code == 1 and doc["ok"] is False
    assert any(not c["ok"] and c["check"].startswith("target bucket") for c in doc["checks"])
    assert d.run("ls", "backup", books).code == 1
