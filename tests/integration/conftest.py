"""Fixtures for running the backup program against the real S3 test world."""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.support.program import Deployment
from tests.support.s3world import S3World


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def books_backed_up(d: Deployment, count: int = 6) -> tuple[str, dict[str, bytes]]:
    """``count`` objects of different sizes (book-00/page.txt, ...) in the first source bucket, and one
    completed backup of them; returns that bucket and the bodies by key."""
    books = d.buckets[0]
    bodies = {f"book-{i:02d}/page.txt": f"page {i} ".encode() * (i + 1) for i in range(count)}
    for key, body in bodies.items():
        d.put(books, key, body)
    assert d.run().code == 0
    return books, bodies


@pytest.fixture
def deploy(s3_world: S3World, tmp_path):
    """Factory: a configured VPS (unique buckets) on the session's servers."""
    made = []

    def make(engine: str = "rclone", least_privilege: bool = False, **overrides) -> Deployment:
        d = Deployment(s3_world.by_name("primary"), s3_world.by_name("offsite"),
                       tmp_path / f"vps-{len(made)}", engine=engine, overrides=overrides,
                       least_privilege=least_privilege)
        made.append(d)
        return d

    return make


@pytest.fixture
def shared_dir():
    """A directory every account can reach (pytest's own temp dirs are 0700), removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="dcs-shared-"))
    path.chmod(0o755)
    yield path
    subprocess.run(["rm", "-rf", "--one-file-system", str(path)], check=True)


@pytest.fixture(scope="module")
def fault_world(tmp_path_factory):
    """Servers of their own for tests that stop and restart them."""
    with S3World.start(tmp_path_factory.mktemp("faults"), names=["primary", "offsite"]) as world:
        yield world


@pytest.fixture
def fault_deploy(fault_world: S3World, tmp_path):
    def make(engine: str = "rclone", **overrides) -> Deployment:
        offsite = fault_world.by_name("offsite")
        if not offsite.alive():
            offsite.restart()
        return Deployment(fault_world.by_name("primary"), offsite, tmp_path / "vps", engine=engine,
                          overrides=overrides)

    return make
