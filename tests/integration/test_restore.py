"""`dream-backup restore`: whole bucket, prefix, one book; to a new bucket and in place; safe by default."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.integration.conftest import books_backed_up, sha256


def library(d) -> dict[str, bytes]:
    """A backed-up books bucket with two books; returns the original bytes by key."""
    books = d.buckets[0]
    objects = {
        "book-1/config.json": b'{"title": "One"}',
        "book-1/images/cover.png": os.urandom(4000),
        "book-1/audio/ch 1.wav": os.urandom(9000),
        "book-2/config.json": b'{"title": "Two"}',
        "book-2/video/intro.mp4": os.urandom(6 * 1024 * 1024),
        "top-level.txt": b"top",
    }
    for key, body in objects.items():
        d.put(books, key, body, content_type="application/json" if key.endswith(".json") else "image/png")
    assert d.run().code == 0
    return objects


def wipe(d, bucket: str, prefix: str = "") -> None:
    for obj in d.src.list_objects(bucket, prefix=prefix or None, recursive=True):
        d.src.remove_object(bucket, obj.object_name)


def restored(d, bucket: str, originals: dict[str, bytes], prefix: str = "") -> None:
    for key, body in originals.items():
        if key.startswith(prefix):
            assert sha256(d.read(bucket, key)) == sha256(body), key


def restore(d, *args, env: dict | None = None):
    run = d.run("restore", "--json", *args, env=env)
    return run, (json.loads(run.stdout) if run.stdout.strip().startswith("{") else {})


@pytest.mark.parametrize("engine", ["rclone", "mc"])
@pytest.mark.parametrize("prefix", ["", "book-2/", "book-1/audio/"])
def test_restore_to_a_new_bucket_and_in_place(deploy, engine, prefix):
    d = deploy(engine)
    originals = library(d)
    books = d.buckets[0]
    fresh = f"restored-{d.token}"
    run, doc = restore(d, "--bucket", books, "--prefix", prefix, "--to-bucket", fresh, "--verify-content")
    assert run.code == 0, run.stderr
    expected = {k: v for k, v in originals.items() if k.startswith(prefix)}
    assert doc["restored"] == len(expected) and doc["failed"] == 0
    restored(d, fresh, expected)
    assert {o.object_name for o in d.src.list_objects(fresh, recursive=True)} == set(expected)

    wipe(d, books, prefix)
    run, doc = restore(d, "--bucket", books, "--prefix", prefix)
    assert run.code == 0 and doc["restored"] == len(expected)
    restored(d, books, originals)
    assert [r["message"] for r in run.log] == ["Starting restore", "Completed restore"]

    again, doc = restore(d, "--bucket", books, "--prefix", prefix)
    assert again.code == 0 and doc["restored"] == 0 and doc["skipped_present"] == len(expected)


def test_present_object_is_left_alone_without_overwrite(deploy):
    d = deploy()
    originals = library(d)
    books = d.buckets[0]
    key = "book-1/config.json"
    d.put(books, key, b'{"title": "XXX"}')  # same size, other content
    d.src.remove_object(books, "book-1/images/cover.png")
    run, doc = restore(d, "--bucket", books, "--prefix", "book-1/")
    assert run.code == 0
    assert doc["restored"] == 1 and doc["skipped_present"] == 2 and key in doc["skipped_different"]
    assert d.read(books, key) == b'{"title": "XXX"}'
    run, doc = restore(d, "--bucket", books, "--prefix", "book-1/", "--overwrite")
    assert run.code == 0 and doc["restored"] == 1
    assert d.read(books, key) == originals[key]


def test_dry_run_changes_nothing(deploy):
    d = deploy()
    library(d)
    books = d.buckets[0]
    wipe(d, books, "book-2/")
    run, doc = restore(d, "--bucket", books, "--dry-run")
    assert run.code == 0 and doc["would_restore"] == 2 and "book-2/config.json" in doc["keys"]
    assert not any(o.object_name.startswith("book-2/") for o in d.src.list_objects(books, recursive=True))


def test_trash_in_place_is_refused_with_the_reason(deploy):
    d = deploy()
    run = d.run("restore", "--bucket", "trash")
    assert run.code == 2
    assert "purged on purpose" in run.stderr or "purged on purpose" in run.log[-1]["reason"]
    elsewhere = d.run("restore", "--bucket", "trash", "--to-bucket", f"trash-review-{d.token}")
    assert elsewhere.code != 2  # allowed (fails with 1 here only because this test has no trash backup)


def test_target_down_mid_restore_then_second_run_completes(fault_deploy, fault_world):
    d = fault_deploy()
    books = d.buckets[0]
    big = range(8)
    for i in big:  # more objects than rclone transfers at once: some are read after the server stops
        d.put(books, f"big-{i}.bin", os.urandom(4 * 1024 * 1024))
    assert d.run().code == 0
    d.write_env(BACKUP_BANDWIDTH="4M")
    fresh = f"restored-{d.token}"
    running = d.start("restore", "--bucket", books, "--to-bucket", fresh)
    running.wait_for_log("Starting restore", books)
    running.wait_for_engine_bytes(1024 * 1024)  # the first objects are on their way (4M/s: 32 MiB to go)
    fault_world.by_name("offsite").stop()
    assert running.finish().code == 1
    failed = [json.loads(line) for line in d.log_path.read_text().splitlines()][-1]
    assert failed["message"] == "Restore failed" and failed["bucket"] == books
    fault_world.by_name("offsite").restart()
    d.write_env(BACKUP_BANDWIDTH="")
    run, doc = restore(d, "--bucket", books, "--to-bucket", fresh, "--verify-content")
    assert run.code == 0 and doc["failed"] == 0
    for i in big:
        assert sha256(d.read(fresh, f"big-{i}.bin")) == sha256(d.read(books, f"big-{i}.bin"))


def test_mc_restores_a_whole_bucket_with_one_process_not_one_per_object(deploy):
    d = deploy("mc")
    originals = library(d)
    d.argv_log.write_text("")
    run, doc = restore(d, "--bucket", d.buckets[0], "--to-bucket", f"copy-{d.token}")
    assert run.code == 0 and doc["restored"] == len(originals)
    # The double records each argv as a JSON list; the command is its first word that is not a flag.
    commands = [next((a for a in json.loads(line)[1:] if not a.startswith("-")), "")
                for line in d.recorded_argv().splitlines()]
    assert [c for c in commands if c in ("mirror", "cp")] == ["mirror"], commands
    restored(d, f"copy-{d.token}", originals)


def lose_before_the_copy(d, engine: str, key: str) -> None:
    """The engine is wrapped so that, the first time it is started to copy (rclone's copy of a key list,
    mc's mirror), one object vanishes from the backup just before it runs: the restore planned it, the
    copy cannot deliver it."""
    script = d.root / "lose.py"
    offsite = d.offsite
    script.write_text(
        "from minio import Minio\n"
        f"Minio({offsite.endpoint.split('://')[1]!r}, access_key={offsite.access_key!r}, "
        f"secret_key={offsite.secret_key!r}, secure=False).remove_object({d.target_bucket!r}, "
        f"{d.backup_key(d.buckets[0], key)!r})\n")
    script.chmod(0o600)
    real = d.rclone if engine == "rclone" else d.mc
    trigger = "--files-from-raw" if engine == "rclone" else "mirror"
    wrapper = d.bin / f"{engine}-losing"
    wrapper.write_text(f"#!/bin/sh\ncase \" $* \" in *\" {trigger} \"*)\n"
                       f"  [ -e {d.root}/lost ] || {{ {sys.executable} {script} && touch {d.root}/lost; }} ;;\nesac\n"
                       f"exec {real} \"$@\"\n")
    wrapper.chmod(0o755)
    d.write_env(**{"RCLONE_PATH" if engine == "rclone" else "MC_PATH": str(wrapper)})


@pytest.mark.parametrize("engine", ["rclone", "mc"])
def test_objects_that_fail_are_counted_and_named_the_others_stay_restored(deploy, engine):
    d = deploy(engine)
    originals = library(d)
    lost = "book-1/images/cover.png"
    lose_before_the_copy(d, engine, lost)
    fresh = f"restored-{d.token}"
    run, doc = restore(d, "--bucket", d.buckets[0], "--to-bucket", fresh)
    assert (d.root / "lost").exists()  # the hook ran: the object vanished after the plan was made
    assert run.code == 1
    assert doc["restored"] == len(originals) - 1 and doc["failed"] == 1
    assert doc["failures"] == [f"{lost}: missing"]
    assert doc["reason"].startswith("1 of 6 objects were not restored (first: book-1/images/cover.png: missing)")
    restored(d, fresh, {k: v for k, v in originals.items() if k != lost})
    failed = run.last("Restore failed")
    assert failed["results"]["restored"] == 5 and failed["results"]["failures"] == doc["failures"]


@pytest.mark.parametrize("engine", ["rclone", "mc"])
def test_no_secret_in_restore_logs_output_or_argv(deploy, engine):
    d = deploy(engine)
    library(d)
    runs = [d.run("restore", "--bucket", d.buckets[0], "--to-bucket", f"copy-{d.token}"),
            d.run("restore", "--bucket", d.buckets[0], "--dry-run")]
    assert all(r.code == 0 for r in runs)
    for secret in d.secrets:
        assert secret not in d.recorded_argv()
        assert secret not in d.log_path.read_text()
        assert all(secret not in r.stdout + r.stderr for r in runs)


@pytest.mark.parametrize("engine", ["rclone", "mc"])
def test_a_bucket_without_a_backup_is_a_clear_failure(deploy, engine):
    d = deploy(engine)
    run, doc = restore(d, "--bucket", d.buckets[1], "--to-bucket", f"copy-{d.token}")
    assert run.code == 1
    assert doc["restored"] == 0 and doc["reason"].startswith(f"nothing to restore: backup/{d.target_bucket}/")
    assert run.last("Restore failed")["reason"] == doc["reason"]


@pytest.fixture
def small_tmpdir(tmp_path):
    """A TMPDIR that fills up: a 192 KiB tmpfs (the spool of a few hundred long keys does not fit)."""
    where = tmp_path / "small-tmp"
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=192k,mode=0700", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)


def test_a_full_tmpdir_during_the_spool_fails_clearly_and_touches_nothing(deploy, small_tmpdir):
    d = deploy("rclone")
    books = d.buckets[0]
    keys = [f"book-{i:03d}/" + "chapter-" * 30 + f"{i}.txt" for i in range(600)]  # ~150 KiB of keys
    for key in keys:
        d.put(books, key, b"x")
    assert d.run().code == 0
    d.put(books, keys[0], b"changed in production since the backup")
    run, doc = restore(d, "--bucket", books, "--overwrite", env={"TMPDIR": str(small_tmpdir)})
    assert run.code == 1
    assert "could not be spooled" in doc["reason"] and "TMPDIR" in doc["reason"], doc["reason"]
    assert doc["restored"] == 0
    assert d.read(books, keys[0]) == b"changed in production since the backup"  # nothing replaced
    assert sum(1 for _ in d.src.list_objects(books, recursive=True)) == len(keys)


def test_an_unreachable_production_server_fails_clearly(deploy):
    d = deploy("rclone")
    books, _ = books_backed_up(d)
    d.write_env(MINIO_SOURCE_ENDPOINT="http://127.0.0.1:9")  # discard port: nothing listens
    run, doc = restore(d, "--bucket", books, "--to-bucket", f"copy-{d.token}")
    assert run.code == 1
    assert "127.0.0.1:9" in doc["reason"] or "connection refused" in doc["reason"].lower(), doc["reason"]
    assert all(secret not in run.stdout + run.stderr for secret in d.secrets)
