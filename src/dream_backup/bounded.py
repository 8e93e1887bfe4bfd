"""Work on many items a few at a time, reading the items as the work goes (a plan of a million keys is
never queued whole)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, as_completed, wait


def unordered(work: Callable, items: Iterable, workers: int) -> Iterator:
    """``work(item)`` for every item, ``workers`` at a time, each result as soon as it is ready (not in
    the items' order). At most twice ``workers`` items are read ahead of the finished ones."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: set = set()
        for item in items:
            pending.add(pool.submit(work, item))
            if len(pending) >= 2 * workers:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for job in finished:
                    yield job.result()
        for job in as_completed(pending):
            yield job.result()
