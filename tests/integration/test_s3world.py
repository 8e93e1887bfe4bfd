"""The S3 test world is real: authenticated SeaweedFS servers that start, serve bytes and go away."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time

import pytest
from minio.error import S3Error

from tests.conftest import REPO, weed_pids_under
from tests.support.s3world import S3World


def test_round_trip_of_bytes(s3_world: S3World) -> None:
    client = s3_world.by_name("primary").client()
    client.make_bucket("roundtrip")
    body = os.urandom(70_000)
    client.put_object("roundtrip", "a/b c.bin", io.BytesIO(body), len(body))
    assert client.get_object("roundtrip", "a/b c.bin").read() == body


def test_wrong_secret_is_rejected(s3_world: S3World) -> None:
    server = s3_world.by_name("primary")
    with pytest.raises(S3Error) as caught:
        server.client(secret_key="not-the-secret").list_buckets()
    assert caught.value.code in {"SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied"}


def test_servers_are_independent(s3_world: S3World) -> None:
    primary, offsite = s3_world.by_name("primary").client(), s3_world.by_name("offsite").client()
    primary.make_bucket("only-on-primary")
    assert primary.bucket_exists("only-on-primary")
    assert not offsite.bucket_exists("only-on-primary")
    assert s3_world.by_name("primary").access_key != s3_world.by_name("offsite").access_key


def test_stop_leaves_no_process(tmp_path) -> None:
    with S3World.start(tmp_path, count=1) as world:
        assert weed_pids_under(tmp_path), "the server should be running"
        assert world.servers[0].alive()
    assert weed_pids_under(tmp_path) == []


def test_interrupted_owner_takes_its_servers_along(tmp_path) -> None:
    """A test process killed outright (no cleanup code runs) must not leave weed behind."""
    code = ("import sys, time; from tests.support.s3world import S3World; "
            f"S3World.start({str(tmp_path)!r}, count=1); print('up', flush=True); time.sleep(60)")
    owner = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert owner.stdout.readline().strip() == "up"
    assert weed_pids_under(tmp_path)
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    deadline = time.monotonic() + 15
    while weed_pids_under(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert weed_pids_under(tmp_path) == []


def test_command_line_start_env_stop(tmp_path) -> None:
    state = tmp_path / "state"
    run = [sys.executable, "-m", "tests.support.s3world"]
    subprocess.run([*run, "start", "--state", str(state), "--names", "a,b"], cwd=REPO, check=True)
    try:
        env = subprocess.run([*run, "env", "--state", str(state)], cwd=REPO, check=True,
                             capture_output=True, text=True).stdout
        assert "S3_A_ENDPOINT=http://127.0.0.1:" in env and "S3_B_SECRET_KEY=" in env
        world = S3World.load(state)
        world.by_name("b").client().list_buckets()
    finally:
        subprocess.run([*run, "stop", "--state", str(state)], cwd=REPO, check=True)
    assert weed_pids_under(state) == []
