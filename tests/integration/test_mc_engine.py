"""The mc engine as real mc behaves (docs/mc.md), and the same inputs through rclone: any file name at
MC_PATH, one failing object, listings and stats, secrets with URL characters, bandwidth units, https
with a private CA."""

from __future__ import annotations

import json
import secrets
import subprocess

import pytest

from tests.support import mc_double
from tests.support.program import REPO, Deployment
from tests.support.s3world import S3Server, S3World, _free_base
from tests.support.tls import make_private_ca

ENGINES = ["rclone", "mc"]
# Every character that needs care in a URL's userinfo, raw; "%41" would become "A" if anything
# percent-decoded the secret, and the request signatures would then not match.
PRIMARY_SECRET = "p/r+i@m%41a#r?y s" + secrets.token_hex(4)
OFFSITE_SECRET = "o@f%2Ff/s+i#t?e @" + secrets.token_hex(4)


def mc_calls(d: Deployment) -> list[list[str]]:
    """Every argv the mc double was started with (its own log, one JSON list per line)."""
    return [json.loads(line)[1:] for line in d.recorded_argv().splitlines() if line.startswith("[")]


def command_of(argv: list[str]) -> str:
    """mc's command word: the first argument that is neither a flag nor a global flag's value."""
    words = [a for i, a in enumerate(argv) if not a.startswith("-")
             and (i == 0 or argv[i - 1] not in ("--config-dir", "--limit-upload", "--limit-download"))]
    return words[0] if words else ""


def failure_of(run, bucket: str) -> str:
    """The reason of the bucket's "Mirror failed" line in this run."""
    failed = [r for r in run.log if r.get("bucket") == bucket and r["message"] == "Mirror failed"]
    assert failed, f"no 'Mirror failed' for {bucket}: {run.log}"
    return failed[0]["reason"]


def seed_books(d: Deployment, keys: list[str]) -> dict[str, bytes]:
    bodies = {key: f"content of {key}\n".encode() for key in keys}
    for key, body in bodies.items():
        d.put(d.buckets[0], key, body)
    return bodies


# --- 1. any file name at MC_PATH -----------------------------------------------------------------

def test_mc_under_another_file_name_backs_up(deploy):
    d = deploy("mc")
    renamed = mc_double.install(d.root / "opt" / "mc", REPO, name="mc-2025-08-13")
    first = subprocess.run([str(renamed), "--version"], capture_output=True, text=True, check=True)
    assert first.stdout.splitlines()[0].startswith("mc-2025-08-13 version RELEASE.2025-08-13T08-35-41Z ")
    d.write_env(MC_PATH=str(renamed))
    bodies = seed_books(d, ["a.txt", "b/c.txt"])
    run = d.run()
    assert run.code == 0, run.stderr
    assert {key: d.read(d.buckets[0], key, side="backup") for key in bodies} == bodies
    check = d.run("check")
    assert check.code == 0 and "mc-2025-08-13 version RELEASE." in check.stdout


def test_midnight_commander_at_mc_path_is_refused(deploy):
    d = deploy("mc")
    midnight = d.root / "mc"
    midnight.write_text("#!/bin/sh\necho 'GNU Midnight Commander 4.8.29'\n")
    midnight.chmod(0o755)
    d.write_env(MC_PATH=str(midnight))
    seed_books(d, ["a.txt"])
    run = d.run()
    assert run.code == 2 and "not the MinIO client" in run.log[-1]["reason"]
    assert list(d.dst.list_objects(d.target_bucket, recursive=True)) == []


# --- 2. one failing object -----------------------------------------------------------------------

def test_one_failing_object_does_not_keep_the_rest_from_the_backup(deploy):
    d = deploy("mc")
    # "a-broken" sorts first: a mirror that stopped at its first error would copy nothing else.
    bodies = seed_books(d, ["a-broken.bin", "b.txt", "c/d.txt", "e.txt"])
    d.put(d.buckets[1], "app.apk", b"apk")
    d.mc_switches({"fail_copy": ["a-broken.bin"]})
    run = d.run()
    assert run.code == 1
    failed = run.last("Mirror failed")
    assert failed["bucket"] == d.buckets[0] and "a-broken.bin" in failed["reason"]
    assert d.backup_keys(d.buckets[0]) == set(bodies) - {"a-broken.bin"}
    assert [m for m in run.messages(d.buckets[1]) if m != "Mirror event"] == ["Starting mirror", "Completed mirror"]
    assert run.log[-1]["message"] == "Backup failed"
    mirrors = [argv for argv in mc_calls(d) if "mirror" in argv]
    assert mirrors and all("--skip-errors" in argv for argv in mirrors)
    d.mc_switches({})
    assert d.run().code == 0
    assert d.backup_keys(d.buckets[0]) == set(bodies)


def test_the_double_stops_its_mirror_at_the_first_error_unless_skip_errors(deploy, tmp_path):
    """The double is as strict as mc, so the test above proves what --skip-errors changes."""
    d = deploy("mc")
    bodies = seed_books(d, ["a-broken.bin", "b.txt", "e.txt"])
    d.mc_switches({"fail_copy": ["a-broken.bin"]})
    env = {"PATH": "/usr/bin:/bin", "MC_CONFIG_DIR": str(tmp_path / "mc"),
           "MC_HOST_source": f"http://{d.primary.access_key}:{d.primary.secret_key}@{d.primary.hostport}",
           "MC_HOST_backup": f"http://{d.offsite.access_key}:{d.offsite.secret_key}@{d.offsite.hostport}"}
    target = f"backup/{d.target_bucket}/{d.backup_key(d.buckets[0], '')}"
    stopped = subprocess.run([str(d.mc), "mirror", "--json", f"source/{d.buckets[0]}", target], env=env,
                             capture_output=True, text=True, check=False)
    assert stopped.returncode == 1 and d.backup_keys(d.buckets[0]) == set()
    going_on = subprocess.run([str(d.mc), "mirror", "--json", "--skip-errors", f"source/{d.buckets[0]}", target],
                              env=env, capture_output=True, text=True, check=False)
    assert going_on.returncode == 1 and d.backup_keys(d.buckets[0]) == set(bodies) - {"a-broken.bin"}
    assert going_on.stdout.count('"status": "error"') == 1 and "a-broken.bin" in going_on.stdout


# --- 3. listings and stats -----------------------------------------------------------------------

def test_listings_end_with_a_slash_and_bucket_stats_skip_the_usage_api(deploy):
    d = deploy("mc")
    seed_books(d, ["a.txt"])
    assert d.run().code == 0
    assert d.run("check").code == 0
    calls = mc_calls(d)
    # The `ls` command itself (not `ilm rule ls`, which names a bucket, not a listing).
    listings = [argv[-1] for argv in calls if command_of(argv) == "ls"]
    stats = [argv for argv in calls if "stat" in argv]
    assert listings and all(path.endswith("/") for path in listings), listings
    assert stats and all("--no-list" in argv for argv in stats), stats


def test_a_listing_that_hangs_fails_saying_it_timed_out(deploy):
    # Generous: the calls that do not hang (version info) must finish well within it on a busy machine.
    d = deploy("mc", BACKUP_TIMEOUT="20s")
    seed_books(d, ["a.txt"])
    d.mc_switches({"hang_in": ["ls"]})
    run = d.run("--bucket", d.buckets[0], timeout=240)
    assert run.code == 1
    reason = failure_of(run, d.buckets[0])
    assert "listing" in reason and "timed out after 20s" in reason, reason
    d.mc_switches({})
    assert d.run().code == 0


# --- 4. credentials --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def private_world(tmp_path_factory):
    """Servers of their own: secrets full of URL characters, and the primary also on https with a CA
    made for this module."""
    root = tmp_path_factory.mktemp("private")
    ca = make_private_ca(root / "ca")
    servers: list[S3Server] = []
    with S3World(servers) as world:
        procs = []
        for name, secret in (("primary", PRIMARY_SECRET), ("offsite", OFFSITE_SECRET)):
            server = S3Server(name, _free_base({s.base_port for s in servers}), "AK" + secrets.token_hex(8).upper(),
                              secret, str(root / name))
            if name == "primary":
                server.tls_cert, server.tls_key = str(ca.cert_file), str(ca.key_file)
            procs.append(server.launch(tied_to_parent=True))
            servers.append(server)
        for server, proc in zip(servers, procs, strict=True):
            server.wait_ready(proc)
        yield world, ca


@pytest.mark.parametrize("engine", ENGINES)
def test_secrets_with_url_characters_work_raw(private_world, tmp_path, engine):
    world, _ = private_world
    d = Deployment(world.by_name("primary"), world.by_name("offsite"), tmp_path / "vps", engine=engine)
    bodies = seed_books(d, ["a.txt", "sub/b.txt"])
    run = d.run()
    assert run.code == 0, run.log[-1]
    assert {key: d.read(d.buckets[0], key, side="backup") for key in bodies} == bodies
    everything = run.stdout + run.stderr + d.log_path.read_text() + d.recorded_argv()
    for secret in d.secrets:
        assert secret not in everything


@pytest.mark.parametrize(("variable", "value", "reading"), [
    ("MINIO_SOURCE_ACCESS_KEY", "AKID:not-shown-anywhere", "end of the access key"),
    ("MINIO_SOURCE_SECRET_KEY", "abc:def-not-shown-anywhere", "SECRET:SESSION_TOKEN"),
])
def test_colon_in_a_credential_refused_for_mc(deploy, variable, value, reading):
    d = deploy("mc")
    d.write_env(**{variable: value})
    run = d.run()
    assert run.code == 2
    assert variable in run.stderr and "':'" in run.stderr and reading in run.stderr
    assert value not in run.stdout + run.stderr
    assert mc_calls(d) == []


# --- 5. one meaning for BACKUP_BANDWIDTH ----------------------------------------------------------

@pytest.mark.parametrize(("engine", "value", "flag"), [
    ("mc", "512KiB", ["--limit-upload", "524288"]),
    ("mc", "20M", ["--limit-upload", "20000000"]),
    ("rclone", "512KiB", ["--bwlimit", "524288B"]),
    ("rclone", "1.5MiB/s", ["--bwlimit", "1572864B"]),
])
def test_bandwidth_reaches_each_engine_as_exact_bytes(deploy, engine, value, flag):
    d = deploy(engine, BACKUP_BANDWIDTH=value)
    bodies = seed_books(d, ["a.txt"])
    run = d.run()
    assert run.code == 0, run.log[-1]
    assert d.read(d.buckets[0], "a.txt", side="backup") == bodies["a.txt"]
    if engine == "mc":
        mirrors = [argv for argv in mc_calls(d) if "mirror" in argv]
        assert mirrors and all(" ".join(flag) in " ".join(argv) for argv in mirrors)
    else:
        copies = [line for line in d.recorded_argv().splitlines() if line.startswith("rclone copy")]
        assert copies and all(" ".join(flag) in line for line in copies)


@pytest.mark.parametrize("value", ["20", "1.5", "20 MiB", "fast", "20Mbit"])
def test_bandwidth_without_a_unit_is_refused(deploy, value):
    d = deploy("mc", BACKUP_BANDWIDTH=value)
    seed_books(d, ["a.txt"])
    run = d.run()
    assert run.code == 2
    assert "BACKUP_BANDWIDTH" in run.stderr and "MiB" in run.stderr
    assert mc_calls(d) == []


# --- 6. https with a private CA ------------------------------------------------------------------

@pytest.mark.parametrize("engine", ENGINES)
def test_https_with_a_private_ca(private_world, tmp_path, engine):
    world, ca = private_world
    primary = world.by_name("primary")
    d = Deployment(primary, world.by_name("offsite"), tmp_path / "vps", engine=engine,
                   overrides={"MINIO_SOURCE_ENDPOINT": primary.https_endpoint})
    bodies = seed_books(d, ["a.txt", "sub/b.txt"])
    untrusted = d.run()
    assert untrusted.code == 1
    for bucket in d.buckets:
        assert "certificate" in failure_of(untrusted, bucket).lower()
    assert d.backup_keys(d.buckets[0]) == set()
    d.write_env(BACKUP_CA_FILE=str(ca.ca_file))
    trusted = d.run()
    assert trusted.code == 0, trusted.log[-1]
    assert {key: d.read(d.buckets[0], key, side="backup") for key in bodies} == bodies
