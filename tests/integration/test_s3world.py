"""The S3 test world is real: authenticated SeaweedFS servers that start, serve bytes and go away."""

from __future__ import annotations

import io
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from minio.error import S3Error

from tests.conftest import REPO, weed_pids_under
from tests.support import s3world
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


def test_a_world_holds_more_buckets_than_weeds_default_volume_count(tmp_path) -> None:
    """Each bucket takes a volume of its own, and weed mini's default volume count is the free disk
    divided by 1 GiB (about 60 on this machine kind, fewer on a fuller disk): a worker's world creates
    more buckets than that in one test session, and the excess answered every upload with HTTP 500."""
    buckets = 150
    with S3World.start(tmp_path, count=1) as world:
        client = world.servers[0].client()
        for i in range(buckets):
            client.make_bucket(f"many-{i:03d}")
            client.put_object(f"many-{i:03d}", "k", io.BytesIO(b"x"), 1)
        assert client.get_object(f"many-{buckets - 1:03d}", "k").read() == b"x"


def test_stop_leaves_no_process(tmp_path) -> None:
    with S3World.start(tmp_path, count=1) as world:
        assert weed_pids_under(tmp_path), "the server should be running"
        assert world.servers[0].alive()
    assert weed_pids_under(tmp_path) == []


def test_interrupted_owner_takes_its_servers_along(tmp_path) -> None:
    """A test process killed outright (no cleanup code runs) must not leave weed behind."""
    code = ("import sys, time; from tests.support.s3world import S3World; "
            f"S3World.start({str(tmp_path)!r}, count=1); print('up', flush=True); time.sleep(3600)")
    owner = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert owner.stdout.readline().strip() == "up"
    assert weed_pids_under(tmp_path)
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    deadline = time.monotonic() + 120  # SIGTERM takes weed seconds; only a leak reaches this bound
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



def test_command_line_wipe_is_a_total_loss_with_the_same_keys_and_ports(tmp_path) -> None:
    """A wiped server holds nothing (buckets, objects, data directory) and answers again with its keys on
    its ports; the other server is untouched."""
    state = tmp_path / "state"
    run = [sys.executable, "-m", "tests.support.s3world"]
    subprocess.run([*run, "start", "--state", str(state), "--names", "a,b"], cwd=REPO, check=True)
    try:
        before = S3World.load(state)
        a, b = before.by_name("a"), before.by_name("b")
        for server in (a, b):
            server.client().make_bucket("kept-or-lost")
            server.client().put_object("kept-or-lost", "k", io.BytesIO(b"v"), 1)
        old_volumes = list((Path(a.data_dir) / "data").rglob("*.dat"))
        done = subprocess.run([*run, "wipe", "--state", str(state), "--server", "a"], cwd=REPO,
                              capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        after = S3World.load(state).by_name("a")
        assert (after.port, after.access_key, after.secret_key) == (a.port, a.access_key, a.secret_key)
        assert after.pid != a.pid and after.alive()
        assert after.client().list_buckets() == []
        assert old_volumes and not any(path.exists() for path in old_volumes)
        assert b.client().get_object("kept-or-lost", "k").read() == b"v"
        unknown = subprocess.run([*run, "wipe", "--state", str(state), "--server", "zz"], cwd=REPO,
                                 capture_output=True, text=True, check=False)
        assert unknown.returncode == 2 and "no server named 'zz'" in unknown.stderr
    finally:
        subprocess.run([*run, "stop", "--state", str(state)], cwd=REPO, check=True)
    assert weed_pids_under(state) == []

# --- ports: below the kernel's ephemeral range, and a port taken anyway moves the server ----------

def kernel_ephemeral_low() -> int:
    return int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])


def test_ports_are_below_the_ephemeral_range(s3_world: S3World) -> None:
    low = kernel_ephemeral_low()
    assert s3world.ephemeral_low() == low
    for server in s3_world.servers:
        assert server.base_port >= 1024 and server.base_port + 15 < low, (server.name, server.base_port)
    bases = s3world.candidate_bases()
    assert bases[-1] + 15 < low and bases.step >= 16  # every block fits, none overlaps another
    assert len(bases) >= 500  # room for many concurrent worlds to pick apart


def test_unreadable_ephemeral_range_falls_back_to_the_kernel_default(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(s3world, "EPHEMERAL_RANGE_FILE", str(tmp_path / "missing"))
    assert s3world.ephemeral_low() == 32768
    assert s3world.candidate_bases()[-1] + 15 < 32768


def test_weeds_words_for_a_taken_port_are_recognised(s3_world: S3World) -> None:
    reported = ("E1129 S3 API Server listener on 127.0.0.1:34524 error: "
                "listen tcp 127.0.0.1:34524: bind: address already in use")
    checked = ("E1129 mini.go:1244 Port allocation failed: port 24184 for S3 (specified by flag s3.port) "
               "is not available on 127.0.0.1 and cannot be used")
    assert s3world.port_clash(reported) and s3world.port_clash(checked)
    for server in s3_world.servers:  # a healthy server's log is not mistaken for a clash
        assert not s3world.port_clash((Path(server.data_dir) / "weed.log").read_text(errors="replace"))


def free_blocks(count: int) -> list[int]:
    blocks = [b for b in random.sample(s3world.candidate_bases(), 400) if s3world._ports_free(b)]
    return blocks[:count]


def take_after_the_check(monkeypatch, victims: list[int]) -> list[socket.socket]:
    """The race weed loses: each victim block passes the world's check, then someone binds its S3 port
    (bound, not listening: like the local port of another process's outgoing connection)."""
    held: list[socket.socket] = []
    picks = iter(victims)
    real_pick, real_check = s3world._random_base, s3world._ports_free

    def pick() -> int:
        return next(picks, None) or real_pick()

    def check(base: int) -> bool:
        free = real_check(base)
        if free and base in victims:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", base + 4))
            held.append(sock)
        return free

    monkeypatch.setattr(s3world, "_random_base", pick)
    monkeypatch.setattr(s3world, "_ports_free", check)
    return held


def test_a_port_taken_after_the_check_moves_the_server_to_new_ports(tmp_path, monkeypatch, capfd) -> None:
    (victim,) = free_blocks(1)
    held = take_after_the_check(monkeypatch, [victim])
    try:
        with S3World.start(tmp_path, names=["moved"]) as world:
            server = world.servers[0]
            assert held, "the test never took the port"
            assert server.base_port != victim
            assert server.base_port + 15 < kernel_ephemeral_low()
            client = server.client()
            client.make_bucket("after-the-move")
            client.put_object("after-the-move", "k", io.BytesIO(b"bytes"), 5)
            assert client.get_object("after-the-move", "k").read() == b"bytes"
        said = capfd.readouterr().err
        assert f"S3 {victim + 4}" in said and "try 2 of 5" in said
    finally:
        for sock in held:
            sock.close()
    assert weed_pids_under(tmp_path) == []


def test_ports_taken_on_every_try_give_a_clear_error(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(s3world, "LAUNCH_TRIES", 2)
    victims = free_blocks(2)
    held = take_after_the_check(monkeypatch, victims)
    try:
        with pytest.raises(RuntimeError) as caught:
            S3World.start(tmp_path, names=["unlucky"])
    finally:
        for sock in held:
            sock.close()
    message = str(caught.value)
    assert "weed unlucky: a port was taken on each of 2 tries" in message
    assert all(f"S3 {victim + 4}" in message for victim in victims)
    assert f"port {victims[-1] + 4} for S3" in message  # the log tail: weed's own words
    assert weed_pids_under(tmp_path) == []


def test_command_line_start_moves_a_server_whose_port_is_taken(tmp_path, monkeypatch, capfd) -> None:
    """Molecule and the demo start servers that outlive the command: the same retry holds there."""
    state = tmp_path / "state"
    (victim,) = free_blocks(1)
    held = take_after_the_check(monkeypatch, [victim])
    try:
        assert s3world._cli(["start", "--state", str(state), "--names", "a,b"]) == 0
        try:
            assert held, "the test never took the port"
            world = S3World.load(state)
            assert victim not in [s.base_port for s in world.servers]
            assert all(s.base_port + 15 < kernel_ephemeral_low() for s in world.servers)
            for server in world.servers:
                server.client().list_buckets()
            assert "try 2 of 5" in capfd.readouterr().err
        finally:
            assert s3world._cli(["stop", "--state", str(state)]) == 0
    finally:
        for sock in held:
            sock.close()
    assert weed_pids_under(state) == []
