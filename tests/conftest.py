"""Fixtures shared by every test: the S3 test world (real SeaweedFS with authentication)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.s3world import S3World

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def s3_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3World]:
    """A primary ("production MinIO") and an off-site server for the whole session."""
    root = tmp_path_factory.mktemp("s3world")
    with S3World.start(root, names=["primary", "offsite"]) as world:
        yield world


def weed_pids_under(root: Path) -> list[int]:
    """PIDs of live weed processes whose command line names a directory below ``root``."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and len(args) > 1 and args[1] == b"mini" and str(root).encode() in b" ".join(args):
            pids.append(int(proc.name))
    return pids
