"""An engine's copy output is read as the engine writes it: each copied or deleted object goes to the
caller at once and only the copied keys stay, so a first backup of a million objects holds about a key
per object, never the engine's whole output (docs/benchmarks.md, a large bucket)."""

from __future__ import annotations

import json
import tracemalloc

from dream_backup.engines.base import ERRORS_KEPT, iter_json_lines
from dream_backup.engines.rclone import RcloneEngine
from dream_backup.log import Scrubber

OBJECTS = 20_000
BYTES_PER_OBJECT = 200  # the program's memory goal per object


def rclone_copy_log(count: int):
    """rclone's JSON log of a copy (--use-json-log -v), line by line, as the engine would write it."""
    for i in range(count):
        yield json.dumps({"level": "info", "msg": "Copied (new)", "object": f"book-{i:06d}/page.png",
                          "objectType": "*s3.Object", "size": 1000 + i, "source": "operations/copy.go:263",
                          "time": "2026-11-29T23:44:20.248123+00:00"}) + "\n"
    yield json.dumps({"level": "info", "msg": "Deleted", "object": "gone.png", "size": 3}) + "\n"
    yield json.dumps({"level": "error", "msg": "Failed to copy: boom", "object": "bad.bin"}) + "\n"
    yield "2026/11/29 23:44:20 NOTICE: not JSON\n"
    yield "3\n"  # JSON, but not an entry


def test_rclone_copy_log_hands_each_event_over_and_keeps_only_the_keys(make_config):
    engine = RcloneEngine(make_config(), Scrubber())
    handed = {"Copied (new)": 0, "Deleted": 0}

    def on_event(entry: dict) -> None:
        handed[entry["msg"]] += 1

    try:
        tracemalloc.start()
        result = engine.parse_copy_log(rclone_copy_log(OBJECTS), on_event)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        engine.close()
    assert handed == {"Copied (new)": OBJECTS, "Deleted": 1}
    assert len(result.keys) == OBJECTS and result.keys[-1] == f"book-{OBJECTS - 1:06d}/page.png"
    assert result.deleted == 1 and result.events == []
    assert result.errors == ["bad.bin: Failed to copy: boom"]
    assert peak < BYTES_PER_OBJECT * OBJECTS, f"{peak / OBJECTS:.0f} bytes per object"


def test_rclone_copy_log_without_a_receiver_keeps_the_events(make_config):
    engine = RcloneEngine(make_config(), Scrubber())
    try:
        result = engine.parse_copy_log(rclone_copy_log(2))
    finally:
        engine.close()
    assert [e["object"] for e in result.events] == ["book-000000/page.png", "book-000001/page.png", "gone.png"]


def test_json_lines_are_read_one_object_at_a_time():
    lines = ['{"status": "success", "source": "a"}\n',
             "{\n", ' "status": "error",\n', ' "error": {\n', '  "message": "x"\n', " }\n", "}\n",
             "mc: <ERROR> not JSON\n",
             '{"status": "success"}']
    assert list(iter_json_lines(lines)) == [{"status": "success", "source": "a"},
                                            {"status": "error", "error": {"message": "x"}},
                                            {"status": "success"}]
    assert list(iter_json_lines([])) == []


def test_json_lines_of_a_long_stream_hold_one_object():
    def mirror_output():
        for i in range(OBJECTS):
            yield json.dumps({"status": "success", "source": f"source/books/{i:06d}", "size": i}) + "\n"

    tracemalloc.start()
    try:
        count = sum(1 for _ in iter_json_lines(mirror_output()))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == OBJECTS
    assert peak < 64 * 1024, peak


def test_a_restore_counts_its_copies_and_keeps_no_key_and_only_the_first_errors(make_config):
    engine = RcloneEngine(make_config(), Scrubber())

    def log_with_failures(count: int):
        yield from rclone_copy_log(count)
        for i in range(ERRORS_KEPT + 30):
            yield json.dumps({"level": "error", "msg": "Failed to copy: gone", "object": f"lost-{i}"}) + "\n"

    try:
        tracemalloc.start()
        result = engine.parse_copy_log(log_with_failures(OBJECTS), lambda _entry: None, keep_keys=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        engine.close()
    assert result.copied == OBJECTS and result.keys == []
    assert result.error_count == ERRORS_KEPT + 31 and len(result.errors) == ERRORS_KEPT
    assert result.errors[0] == "bad.bin: Failed to copy: boom"
    assert result.summary() == f"bad.bin: Failed to copy: boom (and {ERRORS_KEPT + 30} more errors)"
    assert peak < 20 * OBJECTS, f"{peak / OBJECTS:.0f} bytes per object"  # nothing kept per object


def test_rclone_listings_are_lossy_only_for_providers_it_does_not_ask_for_url_encoding(make_config):
    """docs/unstorable.md: rclone 1.60 lists URL-encoded for Minio (the default), not for SeaweedFS or Other."""
    lossy = {provider: RcloneEngine(make_config(BACKUP_S3_PROVIDER=provider), Scrubber()).lossy_listings
             for provider in ("Minio", "AWS", "Wasabi", "SeaweedFS", "Ceph", "Other")}
    assert lossy == {"Minio": False, "AWS": False, "Wasabi": False, "SeaweedFS": True, "Ceph": True, "Other": True}
