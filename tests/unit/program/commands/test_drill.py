"""Which objects a drill samples: only keys listed on both sides, never larger than --max-size, and the
same choice again for the same --seed."""

from __future__ import annotations

import os
import random
import stat
import subprocess
import sys

import pytest

from dream_backup.commands import drill
from dream_backup.engines.base import Obj
from dream_backup.errors import EXIT_REFUSED, ConfigError
from tests.unit.program.conftest import SOURCES

MIB = 1024 * 1024


def listing(keys, size=10):
    return {k: Obj(k, size, None) for k in keys}


SOURCE = listing(f"book-{n:03}/page.png" for n in range(40)) | listing(["only-source/a.txt"])
BACKUP = listing(f"book-{n:03}/page.png" for n in range(40)) | listing(["only-backup/a.txt"])


def pick(seed, samples=5, max_size=256 * MIB, source=SOURCE, backup=BACKUP):
    return drill.pick_samples(source, backup, random.Random(seed), samples, max_size)


def test_only_keys_on_both_sides_are_sampled():
    for seed in range(30):
        picked = pick(str(seed), samples=41)
        assert len(picked) == 40
        assert "only-source/a.txt" not in picked and "only-backup/a.txt" not in picked


def test_the_same_seed_picks_the_same_keys_in_key_order():
    first = pick("2026-11-28")
    assert first == pick("2026-11-28")
    assert first == sorted(first) and len(set(first)) == 5
    assert pick("2026-11-29") != first


def test_the_seed_is_repeatable_across_processes():
    # A drill is repeated later, by another process (a string seed must not depend on hash randomisation).
    code = ("import random, sys; sys.path.insert(0, sys.argv[1]); from dream_backup.commands import drill; "
            "from dream_backup.engines.base import Obj; keys = {f'k{n}': Obj(f'k{n}', 1, None) for n in range(50)}; "
            "print(drill.pick_samples(keys, keys, random.Random('audit-7'), 5, 10))")
    runs = {subprocess.run([sys.executable, "-c", code, SOURCES], capture_output=True, text=True, check=True,
                           env=os.environ | {"PYTHONHASHSEED": "4242"}).stdout}
    keys = {f"k{n}": Obj(f"k{n}", 1, None) for n in range(50)}  # this process: another hash seed
    assert runs == {f"{drill.pick_samples(keys, keys, random.Random('audit-7'), 5, 10)}\n"}


def test_objects_larger_than_max_size_are_never_sampled():
    source = listing(["small-1", "small-2"], size=MIB) | listing(["exact"], 2 * MIB) | listing(["big"], 2 * MIB + 1)
    for seed in range(20):
        assert pick(str(seed), samples=10, max_size=2 * MIB, source=source, backup=source) == \
            ["exact", "small-1", "small-2"]


def test_the_source_size_decides_not_the_backup_size():
    # A production object grown past the limit is not read, even if its older backup copy is small.
    source, backup = listing(["grown"], size=3 * MIB), listing(["grown"], size=1)
    assert pick("s", max_size=2 * MIB, source=source, backup=backup) == []


def test_fewer_eligible_keys_than_samples_takes_them_all_and_none_is_fine():
    assert pick(None, samples=5, source=listing(["a", "b"]), backup=listing(["b", "a"])) == ["a", "b"]
    assert pick(None, source={}, backup=BACKUP) == []
    assert pick(None, source=SOURCE, backup={}) == []


def test_one_rng_over_several_buckets_is_repeatable_as_a_whole():
    def two_buckets(seed):
        rng = random.Random(seed)
        return [drill.pick_samples(SOURCE, BACKUP, rng, 3, MIB) for _ in range(2)]
    assert two_buckets("x") == two_buckets("x")


def test_the_logbook_is_created_private_and_appended_to(tmp_path):
    logbook = tmp_path / "minio-restore-drill.log"
    drill.check_logbook(str(logbook))
    assert logbook.read_text() == ""
    assert stat.S_IMODE(logbook.stat().st_mode) & 0o077 <= 0o040  # group read at most, never world
    logbook.write_text("earlier record\n")
    drill.check_logbook(str(logbook))
    assert logbook.read_text() == "earlier record\n"


def test_an_unwritable_logbook_is_refused(tmp_path):
    with pytest.raises(ConfigError) as raised:
        drill.check_logbook(str(tmp_path / "absent" / "drill.log"))
    assert raised.value.exit_code == EXIT_REFUSED
    assert "is not writable: No such file or directory" in str(raised.value)
