"""Spooled listings compare exactly as the in-memory rules of verify.py do."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from dream_backup import verify
from dream_backup.engines.base import Obj
from dream_backup.listing import Listing, ListingWriter, micros, only_in, pairs

T0 = datetime(2026, 11, 29, 1, 0, 0, 123456, tzinfo=UTC)


def spooled(tmp_path, name: str, objects: dict[str, Obj]) -> Listing:
    writer = ListingWriter(str(tmp_path / f"{name}.sqlite"), name)
    for obj in objects.values():
        writer.add(obj)
    writer.close()
    return writer.listing


def random_sides(seed: int):
    rng = random.Random(seed)
    source, target = {}, {}
    for i in range(400):
        key = f"dir{i % 7}/obj-{i:04d}" + rng.choice(["", ".bin", "/x", " ü"])
        md5 = rng.choice([None, f"{rng.getrandbits(128):032x}"])
        source[key] = Obj(key, rng.randrange(5), T0 + timedelta(seconds=rng.randrange(3)), md5)
        roll = rng.random()
        if roll < 0.7:
            twin = source[key]
            target[key] = Obj(key, twin.size if rng.random() < 0.8 else twin.size + 1,
                              twin.mtime + timedelta(seconds=rng.choice([-1, 0, 1])),
                              rng.choice([twin.md5, twin.md5, None, "f" * 32]))
    for i in range(30):
        key = f"only-target-{i}"
        target[key] = Obj(key, 1, T0, None)
    return source, target


@pytest.mark.parametrize("seed", range(5))
def test_spooled_comparison_equals_the_in_memory_rules(tmp_path, seed):
    source, target = random_sides(seed)
    s, t = spooled(tmp_path, "s", source), spooled(tmp_path, "t", target)
    assert len(s) == len(source)
    for skip in (False, True):
        assert verify.plan_pairs(pairs(s, t, skip_identical=skip)) == verify.plan(source, target)
        assert verify.mismatch_pairs(pairs(s, t, skip_identical=skip)) == verify.mismatches(source, target)
    assert list(only_in(t, s)) == sorted(set(target) - set(source))
    key = sorted(source)[3]
    assert s.get(key) == (source[key].size, micros(source[key].mtime), source[key].md5, None)
    assert s.get("absent") is None
    assert s.sizes([key, "absent"]) == source[key].size


@pytest.mark.parametrize("seed", range(3))
def test_sizes_sum_each_listed_key_once(tmp_path, seed):
    source, _ = random_sides(seed)
    s = spooled(tmp_path, "s", source)
    rng = random.Random(seed)
    picked = rng.sample(sorted(source), 150)
    assert s.sizes([*picked, "absent", "only-target-1"]) == sum(source[k].size for k in picked)
    assert s.sizes(picked + picked[:40]) == sum(source[k].size for k in picked)
    assert s.sizes(iter(picked)) == sum(source[k].size for k in picked)
    assert s.sizes([]) == 0


def test_times_keep_microseconds_and_order():
    assert micros(T0) - micros(T0 - timedelta(microseconds=1)) == 1
    assert micros(datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC)) == -500000
    assert micros(None) is None
