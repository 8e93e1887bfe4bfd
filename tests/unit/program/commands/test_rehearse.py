"""What a restore rehearsal samples (whole top-level prefixes, at least the size asked, the whole bucket
when it holds less, the same choice for the same seed), how it reads sizes, and its estimate."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from dream_backup.commands import rehearse
from dream_backup.errors import ConfigError

BOOKS = {f"book-{n:03d}/": 1000 * (n + 1) for n in range(20)}  # 1,000 .. 20,000 bytes


def test_top_level_prefix_is_the_first_folder_or_the_key_itself():
    assert rehearse.top_level("book-001/pages/1.txt") == "book-001/"
    assert rehearse.top_level("book-001/config.json") == "book-001/"
    assert rehearse.top_level("loose.json") == "loose.json"


@pytest.mark.parametrize("asked", [1, 5_000, 50_000, 150_000])
def test_sample_is_whole_prefixes_of_at_least_the_size_and_only_as_many_as_needed(asked):
    picked = rehearse.choose_prefixes(BOOKS, asked, random.Random(3))
    total = sum(BOOKS[p] for p in picked)
    assert picked == sorted(picked) and set(picked) <= set(BOOKS)
    assert total >= asked
    # No prefix too many: the draw stops as soon as the size is reached, so some prefix of the sample
    # (the last one drawn) takes it below the size.
    assert any(total - BOOKS[p] < asked for p in picked)


def test_a_bucket_smaller_than_the_size_is_taken_whole():
    assert rehearse.choose_prefixes(BOOKS, 10**12, random.Random(1)) == sorted(BOOKS)
    assert rehearse.choose_prefixes(BOOKS, sum(BOOKS.values()), random.Random(1)) == sorted(BOOKS)


def test_the_same_seed_draws_the_same_prefixes_and_other_seeds_differ():
    draws = {tuple(rehearse.choose_prefixes(BOOKS, 30_000, random.Random(seed))) for seed in range(20)}
    assert rehearse.choose_prefixes(BOOKS, 30_000, random.Random("x")) == \
        rehearse.choose_prefixes(BOOKS, 30_000, random.Random("x"))
    assert len(draws) > 5  # a random sample, not always the same books


def test_the_draw_does_not_depend_on_the_listing_order():
    reordered = dict(reversed(list(BOOKS.items())))
    assert rehearse.choose_prefixes(reordered, 30_000, random.Random(9)) == \
        rehearse.choose_prefixes(BOOKS, 30_000, random.Random(9))


@pytest.mark.parametrize(("text", "expected"), [
    ("256MiB", 256 * 2**20), ("1GiB", 2**30), ("1gib", 2**30), ("500M", 500 * 10**6), ("4096", 4096),
    ("12 KiB", 12 * 1024), ("2TB", 2 * 10**12),
])
def test_sizes_with_units_and_plain_bytes(text, expected):
    assert rehearse.parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "0", "-5", "1.5GiB", "ten", "5 parsecs", "256MiB/s"])
def test_sizes_that_are_not_sizes_are_refused(text):
    with pytest.raises(ValueError, match="is not a size"):
        rehearse.parse_size(text)


def test_estimate_scales_the_measured_time_to_the_whole_bucket():
    # 100 objects / 1 MB in 2 s; the bucket is 10x both: 20 s.
    assert rehearse.estimate_seconds(1000, 10_000_000, 100, 1_000_000, 2.0) == pytest.approx(20.0)


def test_estimate_takes_the_slower_of_the_two_rates():
    # The sample's objects are large: the bucket has 50x the objects but only 2x the bytes. Its per-object
    # cost decides: 50 x 2 s.
    assert rehearse.estimate_seconds(5000, 2_000_000, 100, 1_000_000, 2.0) == pytest.approx(100.0)
    # The other way round: bytes decide.
    assert rehearse.estimate_seconds(200, 80_000_000, 100, 1_000_000, 2.0) == pytest.approx(160.0)


def test_estimate_of_empty_objects_and_of_nothing():
    assert rehearse.estimate_seconds(300, 0, 3, 0, 1.5) == pytest.approx(150.0)
    with pytest.raises(ValueError):
        rehearse.estimate_seconds(10, 10, 0, 0, 1.0)


def test_run_folder_names_host_bucket_and_time_in_safe_characters():
    when = datetime(2026, 12, 6, 3, 4, 5, tzinfo=UTC)
    assert rehearse.run_folder("vps1.example", "books", when) == "vps1.example-books-20261206T030405Z"
    assert rehearse.run_folder("bad/host name", "books", when) == "bad_host_name-books-20261206T030405Z"


def test_scratch_bucket_that_is_backed_up_or_the_backup_target_is_refused(make_config):
    with pytest.raises(ConfigError, match="is a backed-up bucket"):
        rehearse.refuse_scratch(make_config(BACKUP_REHEARSAL_BUCKET="trash"), "books")
    with pytest.raises(ConfigError, match="is a backed-up bucket"):
        rehearse.refuse_scratch(make_config(BACKUP_REHEARSAL_BUCKET="old-photos"), "old-photos")
    assert rehearse.refuse_scratch(make_config(), "books") == "dream-backup-rehearsal"
