"""What a restore copies, from where to where, and what it refuses before touching anything."""

from __future__ import annotations

import tracemalloc
from argparse import Namespace
from datetime import UTC, datetime

import pytest

from dream_backup import listing
from dream_backup.commands import restore
from dream_backup.engines.base import BACKUP, SOURCE, Location, Obj
from dream_backup.engines.history import Version
from dream_backup.errors import EXIT_REFUSED, ConfigError
from dream_backup.listing import Listing

T = datetime(2026, 11, 28, 1, 0, 0, tzinfo=UTC)


def obj(size=10, md5=None):
    return Obj("k", size, T, md5)


def args(**given):
    defaults = {"bucket": "books", "prefix": "", "to_bucket": None, "overwrite": False, "as_of": None,
                "version_id": None, "allow_trash_in_place": False}
    return Namespace(**(defaults | given))


BACKUP_LISTING = {"absent": obj(), "same": obj(), "damaged": obj(size=9), "rehashed": obj(md5="a" * 32)}
PRODUCTION = {"same": obj(), "damaged": obj(size=3), "rehashed": obj(md5="b" * 32), "only-in-production": obj()}


def keyed(objects: dict[str, Obj]) -> list[Obj]:
    return [Obj(key, o.size, o.mtime, o.md5) for key, o in objects.items()]


def plan(tmp_path, backup: dict[str, Obj], production: dict[str, Obj], overwrite: bool):
    """The plan of restore.make_plan over two listings spooled like a restore's; as (absent, replace,
    same count, different keys)."""
    engine = Namespace(workdir=str(tmp_path))
    made = restore.make_plan(engine, Listing.build(engine, "b", keyed(backup), "backup"),
                             Listing.build(engine, "p", keyed(production), "production"), overwrite)
    assert made.different == len(backup) - made.same - made.count  # every backup key counted once
    return made.absent.keys(100), made.replace.keys(100), made.same, made.different_keys


def test_plan_without_overwrite_copies_only_what_production_lacks(tmp_path):
    absent, replace, same, different = plan(tmp_path, BACKUP_LISTING, PRODUCTION, overwrite=False)
    assert (absent, replace, same) == (["absent"], [], 1)
    assert different == ["damaged", "rehashed"]  # present but different: left alone, and reported


def test_plan_with_overwrite_also_replaces_what_differs(tmp_path):
    absent, replace, same, different = plan(tmp_path, BACKUP_LISTING, PRODUCTION, overwrite=True)
    assert (absent, replace, same, different) == (["absent"], ["damaged", "rehashed"], 1, [])


def test_plan_never_names_a_key_only_production_has(tmp_path):
    for overwrite in (False, True):
        absent, replace, _, different = plan(tmp_path, BACKUP_LISTING, PRODUCTION, overwrite)
        assert "only-in-production" not in absent + replace + different


def test_plan_into_an_empty_destination_copies_everything_sorted(tmp_path):
    assert plan(tmp_path, {"b": obj(), "a": obj()}, {}, overwrite=False) == (["a", "b"], [], 0, [])


def test_plan_keeps_the_version_each_key_is_restored_from(tmp_path):
    engine = Namespace(workdir=str(tmp_path))
    chosen = [Version("k", "v-old", T, 10, None), Version("n", "", T, 5, "c" * 32)]
    made = restore.make_plan(engine, Listing.build(engine, "b", chosen, "backup"),
                             Listing.build(engine, "p", [], "production"), overwrite=False)
    assert list(made.absent.versions()) == [Version("k", "v-old", T, 10, None), Version("n", "", T, 5, "c" * 32)]
    assert made.total_size() == 15 and made.count == 2


def test_plan_names_only_the_first_keys_left_alone_and_counts_all(tmp_path):
    many = {f"k{i:04d}": obj(size=2) for i in range(restore.FIRST_KEYS + 7)}
    absent, replace, same, different = plan(tmp_path, many, {k: obj(size=1) for k in many}, overwrite=False)
    # plan() checked that all 57 were counted as different
    assert (absent, replace, same) == ([], [], 0)
    assert different == sorted(many)[:restore.FIRST_KEYS]


@pytest.mark.parametrize(("given", "source", "destination"), [
    ({}, Location(BACKUP, "dcs-backup", "books"), Location(SOURCE, "books", "")),
    ({"prefix": "/book-001/"}, Location(BACKUP, "dcs-backup", "books/book-001"), Location(SOURCE, "books", "book-001")),
    ({"to_bucket": "books-restored", "prefix": "book-001"},
     Location(BACKUP, "dcs-backup", "books/book-001"), Location(SOURCE, "books-restored", "book-001")),
    # One version of one key: its folder is listed, the key alone restored.
    ({"prefix": "book-001/config.json", "version_id": "v1"},
     Location(BACKUP, "dcs-backup", "books/book-001"), Location(SOURCE, "books", "book-001")),
    ({"prefix": "config.json", "version_id": "v1"},
     Location(BACKUP, "dcs-backup", "books"), Location(SOURCE, "books", "")),
])
def test_restore_locations(make_config, given, source, destination):
    assert restore.restore_locations(make_config(), args(**given)) == (source, destination)


def test_restore_locations_below_the_target_prefix(make_config):
    src, dst = restore.restore_locations(make_config(BACKUP_TARGET_PREFIX="vps1"), args(prefix="book-001"))
    assert src == Location(BACKUP, "dcs-backup", "vps1/books/book-001")
    assert dst == Location(SOURCE, "books", "book-001")


def test_full_key_puts_the_prefix_back():
    assert restore.full_key(Location(SOURCE, "books", "book-001"), "a.txt") == "book-001/a.txt"
    assert restore.full_key(Location(SOURCE, "books", ""), "a.txt") == "a.txt"


def refused(call) -> str:
    with pytest.raises(ConfigError) as raised:
        call()
    assert raised.value.exit_code == EXIT_REFUSED
    return str(raised.value)


def test_trash_is_never_restored_into_itself_by_accident():
    message = refused(lambda: restore.refuse_unsafe(args(bucket="trash")))
    assert message.startswith("refusing to restore 'trash' in place")
    restore.refuse_unsafe(args(bucket="trash", to_bucket="trash-review"))
    restore.refuse_unsafe(args(bucket="trash", allow_trash_in_place=True))
    restore.refuse_unsafe(args(bucket="books"))


def test_point_in_time():
    assert restore.point_in_time(args()) is None
    assert restore.point_in_time(args(as_of="2026-11-28T02:00:00+01:00")) == T
    assert restore.point_in_time(args(prefix="book-001/config.json", version_id="v1")) is None


@pytest.mark.parametrize(("given", "message"), [
    ({"as_of": "2026-11-28", "version_id": "v1", "prefix": "a.txt"}, "--as-of and --version-id exclude each other"),
    ({"version_id": "v1"}, "--version-id needs --prefix naming exactly one key"),
    ({"version_id": "v1", "prefix": "book-001/"}, "--version-id needs --prefix naming exactly one key"),
    ({"as_of": "last tuesday"}, "accepted: RFC 3339"),
])
def test_point_in_time_refusals(given, message):
    assert message in refused(lambda: restore.point_in_time(args(**given)))


def test_describe():
    assert restore.describe(None, args()) == ""
    assert restore.describe(T, args()) == " as of 2026-11-28T01:00:00Z"
    assert restore.describe(T, args(version_id="v1")) == " (version v1)"


def plan_peak(tmp_path, count: int) -> int:
    """Peak Python memory of spooling a backup listing of ``count`` versions and half of them in
    production, planning with overwrite and reading the plan back."""
    engine = Namespace(workdir=str(tmp_path))

    def versions(size: int):
        return (Version(f"book-{i:06d}/page-{i}.png", f"v{i}", T, size, None) for i in range(count))

    tracemalloc.start()
    try:
        odd = (v for v in versions(9) if int(v.version_id[1:]) % 2)
        made = restore.make_plan(engine, Listing.build(engine, f"b{count}", versions(10), "backup"),
                                 Listing.build(engine, f"p{count}", odd, "production"), overwrite=True)
        walked = sum(1 for listing in made.listings() for _ in listing.versions())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (len(made.absent), len(made.replace), walked) == (count // 2, count // 2, count)
    return peak


def test_a_plan_of_many_objects_holds_none_of_them_in_memory(tmp_path, monkeypatch):
    """Backup and destination listings, the plan and its reading stay on disk: three times the objects
    cost no more memory than the spools' batches (the program's goal is <= 200 bytes per object). Small
    batches fill up at small sizes, so the test measures the slope, not the batch."""
    monkeypatch.setattr(listing, "BATCH", 500)
    small, large = plan_peak(tmp_path, 4_000), plan_peak(tmp_path, 12_000)
    assert (large - small) / 8_000 < 20, f"{(large - small) / 8_000:.0f} bytes per further object"
