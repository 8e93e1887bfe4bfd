"""The guard (docs/guard.md): BACKUP_GUARD parsing and validation, its counts in SQL (equal to the
rules of verify.py) and the decision to hold. What it remembers between runs: test_state.py."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from dream_backup import envspec, guard, verify
from dream_backup.engines.base import Obj
from dream_backup.errors import ConfigError
from tests.unit.program.test_listing import T0, random_sides, spooled

# --- configuration ---------------------------------------------------------------------------------


def test_default_is_the_inventorys(make_config):
    config = make_config()
    assert config.guard_threshold("books") == 25
    assert config.guard_threshold("trash") is None
    assert config.guard_min_objects == 100


@pytest.mark.parametrize(("value", "expected"), [
    ("*=25,trash=off", {"*": 25.0, "trash": None}),
    (" books = 10 , *=off ", {"books": 10.0, "*": None}),
    ("books=0", {"books": 0.0}),
    ("books=100,apps=2.5", {"books": 100.0, "apps": 2.5}),
])
def test_thresholds_are_parsed(value, expected):
    assert envspec.guard_thresholds(value) == expected
    assert envspec.value_error("BACKUP_GUARD", value) is None


def test_bucket_not_named_and_no_star_gets_the_programs_default(make_config):
    config = make_config(BACKUP_GUARD="books=10")
    assert config.guard_threshold("books") == 10
    assert config.guard_threshold("apps") == 25


@pytest.mark.parametrize(("value", "named"), [
    ("", "entry ''"),
    ("*=25,", "entry ''"),
    ("books", "entry 'books'"),
    ("books=", "entry 'books='"),
    ("books=101", "'101'"),
    ("books=-1", "'-1'"),
    ("books=25%", "'25%'"),
    ("books=\u0661\u0660", "'\u0661\u0660'"),  # Arabic-Indic digits are digits to str.isdigit(), not to the guard
    ("Books=25", "'Books'"),
    ("*=25,*=off", "'*' more than once"),
    ("books=on", "'on'"),
])
def test_bad_thresholds_are_refused_with_the_entry_named(value, named):
    reason = envspec.value_error("BACKUP_GUARD", value)
    assert reason and named in reason and "*=25,trash=off" in reason


@pytest.mark.parametrize("value", ["-1", "1.5", "many", "", "\u0663"])
def test_min_objects_must_be_a_whole_number(value):
    assert "whole number" in envspec.value_error("BACKUP_GUARD_MIN_OBJECTS", value)


def test_program_refuses_a_bad_guard_naming_it(make_config):
    with pytest.raises(ConfigError) as refused:
        make_config(BACKUP_GUARD="books=lots")
    assert refused.value.exit_code == 2 and "BACKUP_GUARD:" in str(refused.value) and "'lots'" in str(refused.value)
    with pytest.raises(ConfigError, match="BACKUP_GUARD_MIN_OBJECTS"):
        make_config(BACKUP_GUARD_MIN_OBJECTS="ten")


# --- counts ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(5))
def test_counts_in_sql_equal_the_rules_of_verify(tmp_path, seed):
    source, target = random_sides(seed)
    rng = random.Random(seed)
    last_keys = [k for k in source if rng.random() < 0.8] + [f"gone-{i}" for i in range(25)]
    last = {k: Obj(k, 1, T0, None) for k in last_keys}
    s, t, la = spooled(tmp_path, "s", source), spooled(tmp_path, "t", target), spooled(tmp_path, "l", last)
    counts = guard.count(s, t, la)
    changed = sorted(k for k in source if k in target and verify.needs_copy(source[k], target[k]))
    assert counts.changed == len(changed) > 0
    assert counts.changed_keys == changed[:guard.SAMPLES]
    assert counts.missing == sum(1 for k in source if k not in target)
    assert counts.planned == bool(verify.plan(source, target))
    assert counts.deleted == 25 and counts.deleted_keys == sorted(f"gone-{i}" for i in range(25))[:guard.SAMPLES]
    assert (counts.source, counts.target, counts.baseline) == (len(source), len(target), len(last))


def test_empty_md5_and_zero_mtime_count_as_unknown_like_verify(tmp_path):
    later = T0 + timedelta(seconds=5)
    source = {"a": Obj("a", 1, later, ""), "b": Obj("b", 1, later, "x" * 32), "c": Obj("c", 1, None, None)}
    target = {"a": Obj("a", 1, T0, "y" * 32), "b": Obj("b", 1, T0, ""), "c": Obj("c", 1, T0, None)}
    counts = guard.count(spooled(tmp_path, "s", source), spooled(tmp_path, "t", target), None)
    assert counts.changed == sum(verify.needs_copy(source[k], target[k]) for k in source) == 2
    assert not counts.has_last and counts.deleted == 0 and counts.baseline == 3


# --- the decision -------------------------------------------------------------------------------------

def counts(changed=0, deleted=0, baseline=200, source=200, target=200, has_last=True):
    return guard.Counts(source=source, target=target, baseline=baseline, missing=0, changed=changed,
                        deleted=deleted, has_last=has_last, changed_keys=[f"k{i}" for i in range(min(changed, 30))])


@pytest.mark.parametrize(("c", "percent", "min_objects", "held"), [
    (counts(changed=50), 25, 100, False),  # exactly the threshold: not more than it
    (counts(changed=51), 25, 100, True),
    (counts(deleted=51), 25, 100, True),
    (counts(changed=50, deleted=50), 25, 100, False),  # each count is compared on its own
    (counts(changed=200), None, 100, False),  # off
    (counts(changed=99, baseline=99, source=99, target=99), 25, 100, False),  # too small to judge
    (counts(changed=1), 0, 100, True),
    (counts(source=0, deleted=200), 25, 100, True),
    (counts(source=0, baseline=3, target=3, deleted=3), 25, 100, True),  # empty source: always, any size
    (counts(source=0, baseline=0, target=0), 25, 100, False),  # nothing backed up, nothing to lose
    (counts(source=0, deleted=200), None, 100, False),  # off is off (trash may be emptied)
])
def test_hold_decision(c, percent, min_objects, held):
    assert (guard.hold_reason(c, percent, min_objects) is not None) is held


def test_reason_names_both_counts_the_threshold_and_at_most_20_keys():
    c = counts(changed=120, deleted=7)
    c.deleted_keys = ["d1", "d2"]
    reason = guard.hold_reason(c, 25, 100)
    assert "120 objects would be overwritten" in reason and "7 deleted at the source" in reason
    assert "threshold 25% of 200 = 50" in reason
    assert sum(reason.count(f"k{i}") > 0 for i in range(30)) == 20 and "d1" not in reason


def test_reason_without_a_last_backup_says_deletions_were_not_counted():
    reason = guard.hold_reason(counts(changed=120, has_last=False), 25, 100)
    assert "deletions not counted" in reason
