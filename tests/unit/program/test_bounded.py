"""bounded.unordered: every item worked once, at most ``workers`` at a time, and the items read only a
little ahead of the work (a plan of a million keys is never queued whole)."""

from __future__ import annotations

import threading

import pytest

from dream_backup import bounded


def test_every_item_once_with_its_result():
    assert sorted(bounded.unordered(lambda n: n * n, range(100), 4)) == [n * n for n in range(100)]
    assert list(bounded.unordered(lambda n: n, [], 3)) == []


def test_items_are_read_as_the_work_goes():
    read = []
    workers = 3

    def items():
        for n in range(1000):
            read.append(n)
            yield n

    results = bounded.unordered(lambda n: n, items(), workers)
    for done, _ in enumerate(results, start=1):
        assert len(read) <= done + 2 * workers
        if done == 10:
            break
    results.close()
    assert len(read) < 1000


def test_no_more_than_workers_run_at_once():
    running = 0
    most = 0
    guard = threading.Lock()
    gate = threading.Barrier(2)

    def work(n):
        nonlocal running, most
        with guard:
            running += 1
            most = max(most, running)
        gate.wait(timeout=600)  # two at a time meet here: proves two do run together
        with guard:
            running -= 1
        return n

    assert sorted(bounded.unordered(work, range(20), 2)) == list(range(20))
    assert most == 2


def test_a_failure_of_the_work_reaches_the_caller():
    def work(n):
        if n == 5:
            raise ValueError("five")
        return n

    with pytest.raises(ValueError, match="five"):
        list(bounded.unordered(work, range(10), 2))
