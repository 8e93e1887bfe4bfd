"""Two copies of one object read at once and hashed once.

Both engine processes stream into blocks of the same size, each filled by a thread of its own (reading
a pipe releases the GIL), so the two copies line up block by block. While they agree only one sha256 is
computed and the other copy's bytes are compared with it (a memcmp, far cheaper than a second hash: on
two cores the second hash was what made a drill slower than reading). At the first block that differs,
the digest so far is copied (it is the other copy's digest too, the bytes before were equal) and from
there each copy is hashed on its own, so a difference still yields both sha256 in full.

Memory is flat: at most DEPTH blocks per copy, never larger than the object (a small object gets small
blocks, so a verification reading several objects at once stays small too)."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import queue
import threading
from dataclasses import dataclass

# Measured on a 1 GiB drill (two cores): 1 MiB blocks, three per copy, and 1 MiB pipes used the least
# CPU; 4 MiB blocks were no faster and added 18 MB to the peak RSS, smaller pipes cost more wake-ups.
BLOCK = 1024 * 1024  # the largest block; reads from the pipe fill it in as many calls as they take
MIN_BLOCK = 64 * 1024
DEPTH = 3  # blocks per copy: one being hashed or compared, the others being filled
PIPE_SIZE = 1024 * 1024  # Linux's default cap for an unprivileged pipe (a larger request fails: ignored)


@dataclass
class Copy:
    """What one engine process delivered: its bytes' sha256 and count, exit code and stderr."""

    sha256: str
    size: int
    returncode: int
    stderr: str


def block_size(size_hint: int) -> int:
    """A block a little larger than the object (its end is then found without a second read), within
    MIN_BLOCK..BLOCK."""
    return max(MIN_BLOCK, min(BLOCK, size_hint + 1))


class _Filler(threading.Thread):
    """Fills blocks from one process's stdout in order; a block shorter than its size is the last one."""

    def __init__(self, proc, size: int):
        super().__init__(daemon=True)
        self.proc, self.size = proc, size
        self.free: queue.Queue = queue.Queue()
        self.full: queue.Queue = queue.Queue()
        self.made = 0
        self.error: BaseException | None = None
        self.stderr = ""
        with contextlib.suppress(OSError, AttributeError):
            fcntl.fcntl(proc.stdout.fileno(), fcntl.F_SETPIPE_SZ, PIPE_SIZE)

    def _block(self) -> bytearray | None:
        if self.made < DEPTH:
            with contextlib.suppress(queue.Empty):
                return self.free.get_nowait()
            self.made += 1
            return bytearray(self.size)
        return self.free.get()

    def run(self) -> None:
        pipe = self.proc.stdout.raw  # straight into the block, no second buffer
        try:
            while True:
                block = self._block()
                if block is None:  # the reader gave up (it failed): stop filling
                    return
                view, got = memoryview(block), 0
                while got < self.size:
                    count = pipe.readinto(view[got:])
                    if not count:
                        break
                    got += count
                view.release()
                self.full.put((block, got))
                if got < self.size:
                    break
            # stderr is read only after stdout's end, as the single-copy reader does (an engine writes
            # its few error lines when it stops).
            self.stderr = self.proc.stderr.read().decode(errors="replace")
        except BaseException as exc:  # noqa: BLE001 - handed to the reader, which raises it
            self.error = exc
            self.full.put((None, 0))

    def take(self) -> tuple[bytearray, int]:
        block, got = self.full.get()
        if block is None:
            raise self.error
        return block, got

    def give(self, block: bytearray) -> None:
        self.free.put(block)

    def stop(self) -> None:
        self.free.put(None)


def _drain(filler: _Filler, digest, block: bytearray, got: int) -> int:
    """Hashes the rest of one copy, from a block already taken; its byte count from that block on."""
    count = 0
    while True:
        with memoryview(block) as view:
            digest.update(view[:got])
        count += got
        filler.give(block)
        if got < filler.size:
            return count
        block, got = filler.take()


def read_both(opened_a, opened_b, size_hint: int) -> tuple[Copy, Copy]:
    """sha256 and byte count of what two opened engine processes write (open(), open_version()),
    read at once; each Copy carries its process's exit code and stderr for the caller to judge."""
    size = block_size(size_hint)
    with opened_a as proc_a, opened_b as proc_b:
        fillers = (_Filler(proc_a, size), _Filler(proc_b, size))
        for filler in fillers:
            filler.start()
        fill_a, fill_b = fillers
        digest_a, digest_b = hashlib.sha256(), None
        count = count_a = count_b = 0
        try:
            while True:
                block_a, got_a = fill_a.take()
                block_b, got_b = fill_b.take()
                same = got_a == got_b and (block_a == block_b if got_a == size else block_a[:got_a] == block_b[:got_b])
                if not same:
                    digest_b = digest_a.copy()
                    count_a = count + _drain(fill_a, digest_a, block_a, got_a)
                    count_b = count + _drain(fill_b, digest_b, block_b, got_b)
                    break
                with memoryview(block_a) as view:
                    digest_a.update(view[:got_a])
                count += got_a
                fill_a.give(block_a)
                fill_b.give(block_b)
                if got_a < size:
                    count_a = count_b = count
                    break
        finally:
            for filler in fillers:
                filler.stop()
        for filler in fillers:
            filler.join()
        codes = (proc_a.wait(), proc_b.wait())
    digest_b = digest_b or digest_a
    return (Copy(digest_a.hexdigest(), count_a, codes[0], fill_a.stderr),
            Copy(digest_b.hexdigest(), count_b, codes[1], fill_b.stderr))
