"""The content-verification partition: slices 1..M cover every key exactly once, stably."""

from __future__ import annotations

from collections import Counter

import pytest

from dream_backup.commands.verify_content import parse_slice, slice_of, todays_slice
from dream_backup.errors import ConfigError

KEYS = [f"books/book-{i}/page-{j}.jpg" for i in range(200) for j in range(5)] + ["ünïcode/ключ", "a b/c\nd"]


@pytest.mark.parametrize("slices", [1, 2, 7, 30])
def test_slices_partition_every_key_once(slices):
    seen = Counter()
    for number in range(1, slices + 1):
        seen.update(k for k in KEYS if slice_of(k, slices) == number)
    assert seen == Counter(KEYS)


def test_a_keys_slice_depends_on_the_key_alone():
    assert [slice_of(k, 30) for k in KEYS] == [slice_of(k, 30) for k in reversed(KEYS)][::-1]
    digest = __import__("hashlib").sha256(b"books/book-1/page-1.jpg").hexdigest()
    assert slice_of("books/book-1/page-1.jpg", 30) == int(digest[:8], 16) % 30 + 1


def test_slices_are_roughly_even():
    counts = Counter(slice_of(k, 10) for k in KEYS)
    assert set(counts) == set(range(1, 11))
    assert max(counts.values()) < 2 * min(counts.values())


def test_todays_slice_follows_the_day_number():
    day = 20_000 * 86400
    assert [todays_slice(30, day + n * 86400 + 3600) for n in range(31)] == \
        [(20_000 + n) % 30 + 1 for n in range(31)]
    assert todays_slice(1, day) == 1


@pytest.mark.parametrize("text", ["0/3", "4/3", "3", "/3", "1/", "a/b", "-1/3", "1/0"])
def test_bad_slices_are_refused(text):
    with pytest.raises(ConfigError, match="--slice"):
        parse_slice(text)


def test_good_slice():
    assert parse_slice("3/30") == (3, 30)
