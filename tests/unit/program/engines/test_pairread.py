"""Two copies read at once and hashed once: the sha256 and byte count of each copy are exactly those of
its bytes, whether the copies agree, differ in one byte of any block, or differ in length, and a
failing reader's exit code and stderr reach the caller. Real child processes (`cat` of real files)."""

from __future__ import annotations

import hashlib
import os

import pytest

from dream_backup.engines import pairread, proc

BLOCK = pairread.BLOCK


def opened(path):
    return proc.stream(["cat", str(path)], proc.child_env(str(path.parent), {}))


def failing(stdout: bytes):
    script = f"import os, sys; os.write(1, {stdout!r}); sys.stderr.write('read timed out\\n'); sys.exit(3)"
    return proc.stream(["python3", "-c", script], proc.child_env("/", {}))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read(tmp_path, first: bytes, second: bytes, hint: int | None = None):
    (tmp_path / "a").write_bytes(first)
    (tmp_path / "b").write_bytes(second)
    return pairread.read_both(opened(tmp_path / "a"), opened(tmp_path / "b"), len(first) if hint is None else hint)


BIG = os.urandom(2 * BLOCK + 12345)


def flipped(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1:]


@pytest.mark.parametrize("body", [b"", b"x", os.urandom(pairread.MIN_BLOCK), BIG, BIG[:2 * BLOCK]],
                         ids=["empty", "one byte", "one small block", "three blocks", "exact blocks"])
def test_equal_copies_give_one_hash_for_both(tmp_path, body):
    a, b = read(tmp_path, body, body)
    assert (a.sha256, a.size, a.returncode) == (b.sha256, b.size, b.returncode) == (sha(body), len(body), 0)


@pytest.mark.parametrize("at", [0, BLOCK - 1, BLOCK, BLOCK + 7, len(BIG) - 1],
                         ids=["first byte", "end of block 1", "start of block 2", "inside block 2", "last byte"])
def test_a_byte_that_differs_anywhere_gives_each_copy_its_own_hash(tmp_path, at):
    other = flipped(BIG, at)
    a, b = read(tmp_path, BIG, other)
    assert (a.sha256, a.size) == (sha(BIG), len(BIG))
    assert (b.sha256, b.size) == (sha(other), len(other))


@pytest.mark.parametrize(("first", "second"), [
    (BIG, BIG[:BLOCK]), (BIG[:BLOCK], BIG), (BIG, BIG + b"!"), (b"", b"x"), (BIG[:100], BIG[:99]),
], ids=["second ends at a block", "first ends at a block", "one byte longer", "empty vs one", "small, shorter"])
def test_copies_of_different_length_each_keep_their_own_hash_and_size(tmp_path, first, second):
    a, b = read(tmp_path, first, second)
    assert (a.sha256, a.size) == (sha(first), len(first))
    assert (b.sha256, b.size) == (sha(second), len(second))


@pytest.mark.parametrize("hint", [0, 10, 5 * BLOCK])
def test_the_size_hint_only_sizes_buffers(tmp_path, hint):
    other = flipped(BIG, BLOCK + 1)
    a, b = read(tmp_path, BIG, other, hint=hint)
    assert (a.sha256, b.sha256, a.size, b.size) == (sha(BIG), sha(other), len(BIG), len(other))


def test_a_failing_reader_reports_its_exit_code_and_stderr(tmp_path):
    (tmp_path / "a").write_bytes(BIG)
    a, b = pairread.read_both(opened(tmp_path / "a"), failing(b"partial"), len(BIG))
    assert (a.returncode, a.sha256, a.size) == (0, sha(BIG), len(BIG))
    assert (b.returncode, b.sha256, b.size) == (3, sha(b"partial"), len(b"partial"))
    assert b.stderr == "read timed out\n" and a.stderr == ""
