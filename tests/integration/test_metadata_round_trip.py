"""What production serves comes back: a backup, then a restore (to a new bucket, in place, as of a time),
keeps each object's Content-Type, Cache-Control, Content-Language, Content-Disposition and user metadata
(x-amz-meta-*) on both engines, an object uploaded in parts included. Object tags are dropped by both
engines (docs/recovery.md says why); the tests prove that too, so the docs stay true."""

from __future__ import annotations

import hashlib
import io
import json
import os
from datetime import UTC, datetime

import pytest
from minio.commonconfig import Tags

from tests.integration.test_history import lock_target
from tests.support.program import RCLONE, Deployment
from tests.support.s3world import read_object

# Above the part size of each engine's uploads (rclone: lowered to 5 MiB below; mc: 16 MiB), so the
# engines copy it in parts; the test uploads it in 5 MiB parts.
MULTIPART_BYTES = 17 * 1024 * 1024
SERVED_HEADERS = ("Content-Type", "Cache-Control", "Content-Language", "Content-Disposition")
# rclone records the source's modification and creation times (and, for an object it uploaded in parts, its MD5) as
# user metadata of every copy it writes: docs/recovery.md.
RCLONE_OWN_METADATA = {"mtime", "btime", "md5chksum"}


def tags(**pairs: str) -> Tags:
    made = Tags.new_object_tags()
    made.update(pairs)
    return made


OBJECTS = {
    "book-1/index.html": (b"<html>one</html>", {
        "Content-Type": "text/html; charset=utf-8", "Cache-Control": "public, max-age=3600",
        "Content-Language": "en", "Content-Disposition": 'inline; filename="index.html"',
        "X-Amz-Meta-Author": "Ann Example", "X-Amz-Meta-Book-Id": "book-1"}),
    "book-1/images/cover.png": (os.urandom(3000), {"Content-Type": "image/png",
                                                   "X-Amz-Meta-Sha256": "given-by-the-app"}),
    "book-2/video/intro.mp4": (os.urandom(MULTIPART_BYTES), {
        "Content-Type": "video/mp4", "Cache-Control": "max-age=86400", "X-Amz-Meta-Duration": "12.5"}),
    "plain.bin": (b"no type given", {}),
}


def upload(d: Deployment, bucket: str) -> None:
    for key, (body, headers) in OBJECTS.items():
        extra = {k: v for k, v in headers.items() if k != "Content-Type"}
        d.src.put_object(bucket, key, io.BytesIO(body), len(body),
                         content_type=headers.get("Content-Type", "application/octet-stream"),
                         metadata=extra, part_size=5 * 1024 * 1024, tags=tags(origin="app", key_class="x"))


def served(client, bucket: str, key: str) -> dict:
    """What a reader of the object gets: its bytes' sha256, the served headers and the user metadata
    (names lower case: servers and engines differ in the case they keep)."""
    stat = client.stat_object(bucket, key)
    headers = {k.lower(): v for k, v in stat.metadata.items()}
    user = {k[len("x-amz-meta-"):]: v for k, v in headers.items() if k.startswith("x-amz-meta-")}
    return {"sha256": hashlib.sha256(read_object(client, bucket, key)).hexdigest(),
            **{h: headers.get(h.lower()) for h in SERVED_HEADERS}, "meta": user, "etag": stat.etag}


def assert_same(engine: str, before: dict, after: dict, where: str) -> None:
    for key, was in before.items():
        now = dict(after[key])
        now_meta, was_meta = now.pop("meta"), dict(was["meta"])
        now.pop("etag"), dict(was).pop("etag")
        if engine == "rclone":
            assert set(now_meta) - set(was_meta) <= RCLONE_OWN_METADATA, (where, key, now_meta)
            now_meta = {k: v for k, v in now_meta.items() if k in was_meta}
        assert now_meta == was_meta, (where, key)
        assert now == {k: v for k, v in was.items() if k not in ("meta", "etag")}, (where, key)


def low_cutoff_rclone(d: Deployment) -> None:
    """The engine's rclone (same flags) uploading from 5 MiB on in 5 MiB parts, as it does above 200 MiB."""
    d.rclone.write_text(f"#!/bin/sh\nprintf '%s\\n' \"rclone $*\" >> {d.argv_log}\n"
                        f"RCLONE_S3_UPLOAD_CUTOFF=5M RCLONE_S3_CHUNK_SIZE=5M exec {RCLONE} \"$@\"\n")


@pytest.mark.parametrize("engine", ["rclone", "mc"])
def test_backup_and_restore_keep_what_production_serves(deploy, engine):
    d = deploy(engine)
    low_cutoff_rclone(d)
    books = d.buckets[0]
    upload(d, books)
    before = {key: served(d.src, books, key) for key in OBJECTS}
    assert before["plain.bin"]["Content-Type"] == "application/octet-stream"
    assert "-" in before["book-2/video/intro.mp4"]["etag"]  # uploaded in parts

    assert d.run().code == 0
    backup = {key: served(d.dst, d.target_bucket, d.backup_key(books, key)) for key in OBJECTS}
    assert_same(engine, before, backup, "backup")
    assert "-" in backup["book-2/video/intro.mp4"]["etag"], "the engine copied the large object in one part"

    fresh = f"restored-{d.token}"
    run = d.run("restore", "--bucket", books, "--to-bucket", fresh, "--verify-content")
    assert run.code == 0, run.stdout + run.stderr
    assert_same(engine, before, {key: served(d.src, fresh, key) for key in OBJECTS}, "new bucket")

    for key in OBJECTS:
        d.src.remove_object(books, key)
    run = d.run("restore", "--bucket", books, "--verify-content")
    assert run.code == 0, run.stdout + run.stderr
    assert_same(engine, before, {key: served(d.src, books, key) for key in OBJECTS}, "in place")

    then = f"then-{d.token}"
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    run = d.run("restore", "--bucket", books, "--as-of", now, "--to-bucket", then, "--verify-content")
    assert run.code == 0, run.stdout + run.stderr
    assert_same(engine, before, {key: served(d.src, then, key) for key in OBJECTS}, "as of")


@pytest.mark.parametrize("engine", ["rclone", "mc"])
def test_object_tags_are_not_kept(deploy, engine):
    """Documented in docs/recovery.md: neither engine copies tags, so a restored object has none."""
    d = deploy(engine)
    books = d.buckets[0]
    d.src.put_object(books, "tagged.txt", io.BytesIO(b"tagged"), 6, tags=tags(origin="app"))
    assert dict(d.src.get_object_tags(books, "tagged.txt")) == {"origin": "app"}
    assert d.run().code == 0
    assert not d.dst.get_object_tags(d.target_bucket, d.backup_key(books, "tagged.txt"))
    fresh = f"restored-{d.token}"
    assert d.run("restore", "--bucket", books, "--to-bucket", fresh).code == 0
    assert not d.src.get_object_tags(fresh, "tagged.txt")


def test_mc_restore_and_rehearsal_from_a_locked_backup_are_refused_before_copying(deploy):
    """mc copies a locked backup copy's retention along (its GET answers the lock headers and mc's Put
    sends them), which a bucket without object lock refuses for every object: a restore or a rehearsal
    with mc is refused before anything is copied (exit 2, naming the way out), and the same restore with
    the rclone engine, chosen for the one run, brings the object back; docs/recovery.md."""
    d = deploy("mc")
    d.target_bucket = lock_target(d)
    d.write_env(BACKUP_TARGET_BUCKET=d.target_bucket)
    books = d.buckets[0]
    d.put(books, "a.txt", b"abc")
    assert d.run().code == 0
    fresh = f"fresh-{d.token}"
    before = len(d.recorded_argv())
    run = d.run("restore", "--bucket", books, "--to-bucket", fresh)
    assert run.code == 2, run.stderr
    assert "locks its versions (GOVERNANCE)" in run.stderr and "BACKUP_ENGINE=rclone" in run.stderr
    assert not d.src.bucket_exists(fresh)
    calls = [json.loads(line) for line in d.recorded_argv()[before:].splitlines() if line.startswith("[")]
    assert calls and not any({"cp", "mirror", "mb"} & set(call) for call in calls), calls
    scratch = f"scratch-{d.token}"
    d.write_env(BACKUP_REHEARSAL_BUCKET=scratch)
    rehearsal = d.run("rehearse", "--bucket", books)
    assert rehearsal.code == 2 and "refusing a restore rehearsal with the mc engine" in rehearsal.stderr
    assert not d.src.bucket_exists(scratch)

    rclone = d.run("restore", "--bucket", books, "--to-bucket", fresh, env={"BACKUP_ENGINE": "rclone"})
    assert rclone.code == 0, rclone.stderr
    assert read_object(d.src, fresh, "a.txt") == b"abc"
