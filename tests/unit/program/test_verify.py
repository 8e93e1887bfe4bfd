"""What a mirror copies and what verification calls a mismatch, from the two listings alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dream_backup import verify
from dream_backup.engines.base import Obj

T = datetime(2026, 11, 28, 1, 0, 0, tzinfo=UTC)
LATER = T + timedelta(seconds=1)
MD5_A = "0cc175b9c0f1b6a831c399e269772661"
MD5_B = "92eb5ffee6ae2fec3ad71c777531578f"


def obj(size=10, mtime=T, md5=MD5_A, key="k"):
    return Obj(key, size, mtime, md5)


@pytest.mark.parametrize(("src", "dst", "reason"), [
    (obj(), None, "missing"),
    (obj(size=10), obj(size=11), "size 11 != 10"),
    (obj(md5=MD5_A), obj(md5=MD5_B), "MD5 differs"),
    (obj(), obj(), None),
    # An MD5 only one side knows (a multipart upload's ETag is not one) proves nothing either way.
    (obj(md5=MD5_A), obj(md5=None), None),
    (obj(md5=None), obj(md5=MD5_B), None),
    # Times do not make a copy wrong: the copy is always newer than its source.
    (obj(mtime=T), obj(mtime=LATER), None),
    (obj(mtime=LATER), obj(mtime=T), None),
])
def test_differs_names_the_reason(src, dst, reason):
    assert verify.differs(src, dst) == reason


def test_plan_lists_missing_and_different_keys_sorted_and_never_target_only_keys():
    source = {"b": obj(), "a": obj(), "same": obj(), "bigger": obj(size=20), "rehashed": obj(md5=MD5_B)}
    target = {"same": obj(), "bigger": obj(size=10), "rehashed": obj(md5=MD5_A), "only-target": obj()}
    assert verify.plan(source, target) == ["a", "b", "bigger", "rehashed"]


def test_plan_copies_a_same_size_object_modified_after_its_copy_when_no_md5_can_tell():
    source = {"newer": obj(mtime=LATER, md5=None), "older": obj(mtime=T, md5=None),
              "newer-known-md5": obj(mtime=LATER, md5=MD5_A)}
    target = {"newer": obj(mtime=T, md5=None), "older": obj(mtime=LATER, md5=None),
              "newer-known-md5": obj(mtime=T, md5=MD5_A)}
    # With both MD5s equal the content is known to be the same, whatever the times say.
    assert verify.plan(source, target) == ["newer"]


def test_plan_without_times_copies_only_what_differs():
    source = {"k": obj(mtime=None, md5=None)}
    assert verify.plan(source, {"k": obj(mtime=T, md5=None)}) == []
    assert verify.plan(source, {}) == ["k"]


def test_plan_of_identical_listings_is_empty():
    listing = {f"book-{n}/config.json": obj(size=n) for n in range(5)}
    assert verify.plan(listing, dict(listing)) == []


def test_mismatches_names_every_wrong_key_with_its_reason_and_ignores_extras_at_the_target():
    source = {"ok": obj(), "gone": obj(), "short": obj(size=5), "bad": obj(md5=MD5_B)}
    target = {"ok": obj(), "short": obj(size=4), "bad": obj(md5=MD5_A), "extra": obj()}
    assert verify.mismatches(source, target) == {"gone": "missing", "short": "size 4 != 5", "bad": "MD5 differs"}


def test_mismatches_is_not_fooled_by_a_newer_source_when_sizes_and_md5_agree():
    # Unlike plan(), verification only asks whether the target holds the bytes.
    assert verify.mismatches({"k": obj(mtime=LATER, md5=None)}, {"k": obj(mtime=T, md5=None)}) == {}


@pytest.mark.parametrize(("now", "changed"), [
    (obj(), False),
    (None, True),
    (obj(size=11), True),
    (obj(mtime=LATER), True),
    (obj(md5=MD5_B), True),
    (obj(md5=None), False),
])
def test_changed_since(now, changed):
    assert verify.changed_since(obj(), now) is changed


def test_changed_since_without_md5_at_first_listing_compares_size_and_time():
    before = obj(md5=None)
    assert verify.changed_since(before, obj(md5=MD5_B)) is False
    assert verify.changed_since(before, obj(md5=MD5_B, mtime=LATER)) is True


# Keys as an XML listing without URL encoding returns them: what XML 1.0 cannot carry becomes U+FFFD.
@pytest.mark.parametrize(("key", "lossy"), [
    ("esc\x1b[31m.txt", "esc\ufffd[31m.txt"),  # raw, as mc would list it
    ("esc\u241b[31m.txt", "esc\ufffd[31m.txt"),  # rclone's picture of ESC
    ("bell\u2407\u2401.txt", "bell\ufffd\ufffd.txt"),
    ("ends\uffff", "ends\ufffd"),
    ("nonchar\ufffe", "nonchar\ufffd"),
])
def test_unstorable_key_whose_lossy_name_the_target_lists(key, lossy):
    wrong = {key: "missing", "plain.txt": "missing"}
    assert verify.unstorable(wrong, {lossy: obj(), "plain.txt\ufffd": obj()}.get) == [key]


@pytest.mark.parametrize("key", [
    "tab\tkey", "nl\nkey", "cr\rkey", "del\x7fkey", "csi\x9bkey",  # valid XML: listed as they are
    "tab\u2409key", "nl\u240akey", "cr\u240dkey",  # rclone's pictures of those
    "fffd\ufffdkey",  # a real U+FFFD is its own lossy name
])
def test_keys_xml_carries_are_never_unstorable(key):
    target = {key.translate({c: "\ufffd" for c in range(0x2400, 0x2420)}): obj()}
    assert verify.unstorable({key: "missing"}, target.get) == []


def test_unstorable_needs_the_lossy_object_at_the_target_and_a_missing_key():
    assert verify.unstorable({"esc\x1b": "missing"}, {}.get) == []  # really missing: a failure
    assert verify.unstorable({"esc\x1b": "size 2 != 1"}, {"esc\ufffd": obj()}.get) == []  # listed: compared
