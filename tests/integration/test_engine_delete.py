"""Engine.delete_keys on real SeaweedFS, both engines: exactly the named objects go, never a neighbour
whose name only starts like one, nor a folder's other objects; a name that is not there is reported by
mc (as real mc does) and ignored by rclone, and the others are still deleted."""

from __future__ import annotations

import sys

import pytest

from tests.support.program import REPO

sys.path.insert(0, str(REPO / "src"))
from dream_backup import config as configuration
from dream_backup.engines import make_engine
from dream_backup.engines.base import SOURCE, Location
from dream_backup.log import Scrubber

KEPT = ["run/a.txt.bak", "run/sub/b.txt2", "run/sub2/b.txt", "other/run/a.txt", "run2/a.txt", "a.txt"]
NAMED = ["a.txt", "sub/b.txt", "with space & quote'.txt"]


@pytest.mark.parametrize("engine", ["rclone", "mc"])
def test_delete_keys_removes_exactly_the_named_objects(deploy, engine):
    d = deploy(engine)
    bucket = d.buckets[2]
    for key in KEPT + [f"run/{k}" for k in NAMED]:
        d.put(bucket, key, key.encode())
    config = configuration.load(str(d.env_file), environ={})
    runner = make_engine(config, Scrubber(config.secrets))
    try:
        result = runner.delete_keys(Location(SOURCE, bucket, "run"), [*NAMED, "gone.txt"], 60)
    finally:
        runner.close()
    remaining = sorted(o.object_name for o in d.src.list_objects(bucket, recursive=True))
    assert remaining == sorted(KEPT)
    assert result.deleted == len(NAMED)
    if engine == "mc":
        assert len(result.errors) == 1 and "gone.txt" in result.errors[0]
    else:
        assert result.errors == []
