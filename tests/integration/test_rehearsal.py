"""`dream-backup rehearse`: a sample of whole books restored into a scratch bucket on the production
server, verified, timed and removed again; refusals; a corrupt backup object (real SeaweedFS, both
engines)."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from minio.commonconfig import ENABLED
from minio.versioningconfig import VersioningConfig

from tests.integration.conftest import sha256

BOOKS = 6


def books_with_pages(d) -> tuple[str, dict[str, bytes]]:
    """Six books of three objects each (sizes differ per book), backed up once."""
    books = d.buckets[0]
    bodies = {}
    for book in range(BOOKS):
        for page, size in (("config.json", 100 + book), ("page-1.txt", 300 * (book + 1)), ("cover.jpg", 700)):
            bodies[f"book-{book:03d}/{page}"] = os.urandom(size)
    for key, body in bodies.items():
        d.put(books, key, body)
    assert d.run().code == 0
    return books, bodies


def scratch_of(d, **more) -> str:
    scratch = f"rehearsal-{d.token}"
    d.write_env(BACKUP_REHEARSAL_BUCKET=scratch, **more)
    return scratch


def current_keys(d, bucket: str) -> dict[str, bytes]:
    return {o.object_name: d.read(bucket, o.object_name) for o in d.src.list_objects(bucket, recursive=True)}


def written_versions(d, bucket: str) -> dict[str, bytes]:
    """Every non-delete-marker version in a versioned bucket: what was ever written there."""
    found = {}
    for o in d.src.list_objects(bucket, recursive=True, include_version=True):
        if not o.is_delete_marker:
            response = d.src.get_object(bucket, o.object_name, version_id=o.version_id)
            try:
                found[o.object_name] = response.read()
            finally:
                response.close()
                response.release_conn()
    return found


@pytest.mark.parametrize("engine", ["rclone", "mc"])
def test_rehearsal_restores_whole_books_verifies_them_and_removes_exactly_them(deploy, engine, tmp_path):
    metrics = tmp_path / "metrics.prom"
    d = deploy(engine)
    scratch = scratch_of(d, BACKUP_METRICS_FILE=str(metrics), BACKUP_RTO_BUDGET_HOURS="2")
    books, bodies = books_with_pages(d)
    # A versioned scratch bucket keeps what was written after the rehearsal removed it: the proof of what
    # it restored. Objects of an earlier run that were removed (versions only) are not in the way.
    d.src.make_bucket(scratch)
    d.src.set_bucket_versioning(scratch, VersioningConfig(ENABLED))

    run = d.run("rehearse", "--bucket", books, "--sample-bytes", "3000", "--seed", "11", "--json")
    assert run.code == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["verdict"] == "pass"
    sampled = doc["sampled_prefixes"]
    assert 0 < len(sampled) < BOOKS  # a sample, of whole books
    sample_keys = {k for k in bodies if k.split("/")[0] + "/" in sampled}
    sample_bytes = sum(len(bodies[k]) for k in sample_keys)
    assert sample_bytes >= 3000
    # Whole books: every object of each sampled book, nothing of the others.
    assert doc["objects"] == len(sample_keys) == 3 * len(sampled) and doc["bytes"] == sample_bytes
    assert doc["verified"] == len(sample_keys) and doc["removed"] == len(sample_keys)
    assert doc["backup_objects"] == len(bodies) and doc["backup_bytes"] == sum(map(len, bodies.values()))
    assert doc["objects_per_second"] > 0 and doc["bytes_per_second"] > 0
    assert doc["estimated_restore_seconds"] >= doc["copy_seconds"] > 0
    folder = doc["scratch"].removeprefix(f"{scratch}/")
    assert folder.startswith(f"{os.uname().nodename}-{books}-") and folder.endswith("/")

    # What was written: exactly the sampled objects with their backup's bytes, in the run's folder...
    assert written_versions(d, scratch) == {folder + k: bodies[k] for k in sample_keys}
    # ...and none of it is left.
    assert current_keys(d, scratch) == {}

    started, completed = run.last("Starting restore rehearsal"), run.last("Completed restore rehearsal")
    assert started["bucket"] == completed["bucket"] == books and started["level"] == "INFO"
    assert completed["results"]["estimated_restore_seconds"] == doc["estimated_restore_seconds"]
    assert "Restore rehearsal failed" not in run.messages()
    record = json.loads((d.root / "minio-restore-drill.log").read_text().splitlines()[-1])
    assert record["kind"] == "rehearsal" and record["verdict"] == "pass" and record["bucket"] == books
    assert record["objects"] == doc["objects"] and record["host"]
    text = metrics.read_text()
    assert f'dream_backup_rehearsal_last_success_timestamp_seconds{{bucket="{books}"}}' in text
    assert f'dream_backup_rehearsal_bytes_per_second{{bucket="{books}"}}' in text
    assert f'dream_backup_estimated_restore_seconds{{bucket="{books}"}}' in text
    assert f'dream_backup_rto_budget_seconds{{bucket="{books}"}} 7200' in text
    assert f'dream_backup_last_success_timestamp_seconds{{bucket="{books}"}}' in text  # the backup's series stay
    assert doc["rto_budget_seconds"] == 7200 and doc["within_budget"] is True

    # Seedable: the same seed draws the same books.
    again = json.loads(d.run("rehearse", "--bucket", books, "--sample-bytes", "3000", "--seed", "11",
                             "--json").stdout)
    assert again["sampled_prefixes"] == sampled


def test_a_bucket_smaller_than_the_sample_is_rehearsed_whole_into_a_bucket_it_creates(deploy):
    d = deploy()
    scratch = scratch_of(d)
    books, bodies = books_with_pages(d)
    run = d.run("rehearse", "--bucket", books)
    assert run.code == 0, run.stderr
    results = run.last("Completed restore rehearsal")["results"]
    assert results["prefixes"] == BOOKS and results["objects"] == results["verified"] == len(bodies)
    assert d.src.bucket_exists(scratch) and current_keys(d, scratch) == {}
    assert "estimated restore" in run.stdout and "pass" in run.stdout


@pytest.mark.parametrize("engine", ["rclone", "mc"])
def test_a_bucket_without_a_backup_fails_with_a_clear_reason(deploy, engine):
    d = deploy(engine)
    scratch = scratch_of(d)
    run = d.run("rehearse", "--bucket", d.buckets[1], "--json")
    assert run.code == 1
    reason = run.last("Restore rehearsal failed")["reason"]
    assert reason == json.loads(run.stdout)["reason"]
    assert reason.startswith("nothing to rehearse:") and d.buckets[1] in reason
    assert not d.src.bucket_exists(scratch)  # nothing was written


def test_scratch_bucket_that_is_backed_up_is_refused_before_anything_is_written(deploy):
    d = deploy()
    books, _ = books_with_pages(d)
    apps = d.buckets[1]
    d.put(apps, "app.bin", b"production")
    d.write_env(BACKUP_REHEARSAL_BUCKET=apps)
    run = d.run("rehearse", "--bucket", books)
    assert run.code == 2
    failed = run.last("Restore rehearsal failed")
    assert "is a backed-up bucket" in failed["reason"] and failed["level"] == "ERROR"
    assert "Starting restore rehearsal" not in run.messages()
    assert current_keys(d, apps) == {"app.bin": b"production"}


def test_scratch_bucket_holding_a_foreign_object_is_refused_and_the_object_stays(deploy):
    d = deploy()
    scratch = scratch_of(d)
    books, _ = books_with_pages(d)
    d.src.make_bucket(scratch)
    d.put(scratch, "someone/else.txt", b"not the rehearsal's")
    logbook = d.root / "minio-restore-drill.log"
    before = logbook.read_text() if logbook.exists() else ""
    run = d.run("rehearse", "--bucket", books, "--json")
    assert run.code == 2
    assert "holds 1 objects this run did not write" in run.last("Restore rehearsal failed")["reason"]
    assert "someone/else.txt" in run.last("Restore rehearsal failed")["reason"]
    assert "Starting restore rehearsal" not in run.messages()
    assert current_keys(d, scratch) == {"someone/else.txt": b"not the rehearsal's"}
    assert (logbook.read_text() if logbook.exists() else "") == before


def test_a_second_rehearsal_on_the_host_exits_75_and_writes_nothing(deploy):
    """Rehearsals exclude each other with their own lock beside BACKUP_LOCK_FILE (held here the way the
    program holds it); the backup lock stays free for the nightly backup."""
    d = deploy()
    scratch = scratch_of(d)
    books, _ = books_with_pages(d)
    lock_path = d.root / "dream-backup.lock.rehearsal"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600); "
         "fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB); print('held', flush=True); sys.stdin.read()",
         str(lock_path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        run = d.run("rehearse", "--bucket", books)
        assert run.code == 75
        assert "dream-backup.lock.rehearsal" in run.log[-1]["reason"] and run.log[-1]["level"] == "WARNING"
        assert run.log[-1]["message"] == "Restore rehearsal skipped: another run is in progress"
        assert "Starting restore rehearsal" not in run.messages()
        assert not d.src.bucket_exists(scratch)
        assert d.run().code == 0  # the backup does not wait for a rehearsal
    finally:
        holder.stdin.close()
        holder.wait()
        holder.stdout.close()


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc = CRC32C[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _crc32c_table() -> list[int]:
    table = []
    for n in range(256):
        crc = n
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


CRC32C = _crc32c_table()


def rot_on_disk(data_dir: str, body: bytes) -> None:
    """Flips a byte of the one stored copy of ``body`` in a SeaweedFS volume file and rewrites the
    needle's CRC32-C to match: the server then serves the damaged bytes without noticing, under the
    MD5 it recorded when the object was written (silent bit rot on the off-site disk). A flip without
    the CRC would make the server answer 500 after about a minute per read instead."""
    hits = []
    for path in Path(data_dir).rglob("*.dat"):
        at = path.read_bytes().find(body[:64])
        if at >= 0:
            hits.append((path, at))
    assert len(hits) == 1, hits
    path, at = hits[0]
    stored = struct.pack(">I", crc32c(body))  # SeaweedFS keeps the CRC just after the needle's data
    damaged = bytearray(body)
    damaged[100] ^= 0xFF
    with open(path, "r+b") as volume:
        volume.seek(at + len(body))
        crc_at = at + len(body) + volume.read(512).index(stored)
        volume.seek(at)
        volume.write(damaged)
        volume.seek(crc_at)
        volume.write(struct.pack(">I", crc32c(bytes(damaged))))


@pytest.mark.parametrize("engine", ["rclone", "mc"])
def test_a_corrupt_backup_object_fails_the_rehearsal_and_nothing_is_left_behind(deploy, engine, tmp_path):
    metrics = tmp_path / "metrics.prom"
    d = deploy(engine)
    scratch = scratch_of(d, BACKUP_METRICS_FILE=str(metrics))
    books, _ = books_with_pages(d)
    damaged = os.urandom(200_000)
    d.put(books, "book-001/video.bin", damaged)
    assert d.run().code == 0
    rot_on_disk(d.offsite.data_dir, damaged)
    assert d.read(books, "book-001/video.bin", side="backup") != damaged  # served damaged, silently

    run = d.run("rehearse", "--bucket", books, "--json")
    assert run.code == 1
    doc = json.loads(run.stdout)
    assert doc["verdict"] == "fail" and "book-001/video.bin" in doc["reason"]
    failed = run.last("Restore rehearsal failed")
    assert failed["bucket"] == books and "book-001/video.bin" in failed["reason"]
    assert "Completed restore rehearsal" not in run.messages()
    assert current_keys(d, scratch) == {}
    record = json.loads((d.root / "minio-restore-drill.log").read_text().splitlines()[-1])
    assert record["kind"] == "rehearsal" and record["verdict"] == "fail"
    assert not metrics.exists() or "rehearsal" not in metrics.read_text()
    assert sha256(d.read(books, "book-001/video.bin")) == sha256(damaged)  # production untouched
