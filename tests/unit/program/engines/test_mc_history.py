"""mc's per-version copies (restores of another time, keys to replace): a few at a time, and the plan is
read from its listing as the copies go, never queued whole."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from dream_backup.engines import mc_history
from dream_backup.engines.base import BACKUP, SOURCE, CopyResult, Location
from dream_backup.engines.history import Version
from dream_backup.engines.mc import McEngine
from dream_backup.log import Scrubber

T = datetime(2026, 11, 28, 1, 0, 0, tzinfo=UTC)
QUEUED = 2 * mc_history.PARALLEL_COPIES
WAIT = 600.0  # bounds a wait for a state a working program always reaches


def wait_for(condition) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "the copies never reached the expected state"
        time.sleep(0.01)


def test_per_version_copies_are_bounded_and_the_plan_is_read_as_they_go(make_config, monkeypatch):
    engine = McEngine(make_config(BACKUP_ENGINE="mc"), Scrubber())
    go = threading.Event()
    pulled = []

    def plan():
        for i in range(100):
            pulled.append(i)
            yield Version(f"k{i:03d}", f"v{i}", T, 1)

    def copy_one(self, src, dst, version, use_id, timeout):
        go.wait(WAIT)
        return version.key, ("gone" if version.key == "k007" else None)

    monkeypatch.setattr(McEngine, "_copy_one", copy_one)
    result = CopyResult(keep_keys=False)
    worker = threading.Thread(target=engine._copy_each, args=(
        Location(BACKUP, "offsite", "books"), Location(SOURCE, "books"), plan(), True, 60.0, result))
    try:
        worker.start()
        wait_for(lambda: len(pulled) >= QUEUED)
        assert len(pulled) == QUEUED  # every copy is blocked: no further key is read from the plan
        go.set()
        worker.join(WAIT)
    finally:
        go.set()
        engine.close()
    assert len(pulled) == 100 and result.copied == 99 and result.keys == []
    assert result.errors == ["k007: gone"] and result.error_count == 1
