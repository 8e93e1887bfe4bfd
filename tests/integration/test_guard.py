"""The guard on real servers, both engines (docs/guard.md): a night that would overwrite or delete
more than the threshold, or copy an empty source, is held and the backup keeps its good copy; smaller
changes and buckets with the guard off are mirrored; an operator's acceptance mirrors it once; a
state another account could forge is refused."""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.test_failures_visible import PING, pings_server
from tests.support.program import PROGRAM, REPO, Deployment

ENGINES = ["rclone", "mc"]
PAGES = 20


def seeded(deploy, engine: str, tmp_path, **overrides) -> tuple[Deployment, str, dict[str, bytes]]:
    """A deployment whose books bucket holds PAGES objects, backed up once (the guard's baseline)."""
    overrides.setdefault("BACKUP_GUARD_MIN_OBJECTS", "10")
    d = deploy(engine, BACKUP_METRICS_FILE=str(tmp_path / f"{engine}.prom"), **overrides)
    books = d.buckets[0]
    bodies = {f"book-{i:02d}/page.bin": os.urandom(100 + i) for i in range(PAGES)}
    for key, body in bodies.items():
        d.put(books, key, body)
    d.put(d.buckets[1], "android/app.apk", b"apk")
    first = d.run()
    assert first.code == 0, first.stderr
    return d, books, bodies


def metric(d: Deployment, name: str, bucket: str) -> str:
    text = Path(d.overrides["BACKUP_METRICS_FILE"]).read_text(encoding="utf-8")
    prefix = f'{name}{{bucket="{bucket}"}} '
    return next(line[len(prefix):] for line in text.splitlines() if line.startswith(prefix))


def held_line(run, bucket: str) -> dict:
    held = [r for r in run.log if r["message"] == "Mirror held" and r.get("bucket") == bucket]
    assert len(held) == 1, run.log
    return held[0]


@pytest.mark.parametrize("engine", ENGINES)
def test_half_overwritten_is_held_then_accepted(deploy, engine, tmp_path):
    with pings_server() as pings:
        d, books, bodies = seeded(deploy, engine, tmp_path, BACKUP_HEALTHCHECK_URL=pings.base + PING)
        rewritten = {key: os.urandom(len(body)) for key, body in list(bodies.items())[:PAGES // 2]}
        for key, body in rewritten.items():
            d.put(books, key, body)

        dry = d.run("--dry-run")
        assert dry.code == 0 and "would hold" in dry.stdout
        assert dry.last("Dry run")["results"][books]["guard"]["changed"] == PAGES // 2

        pings.requests.clear()
        run = d.run()
        assert [r.path for r in pings.requests] == [PING + "/start", PING + "/fail"]
        assert b"held by the guard" in pings.requests[-1].body
    assert run.code == 1
    held = held_line(run, books)
    assert held["level"] == "ERROR" and held["guard_changed"] == PAGES // 2 and held["objects"] == 0
    assert "10 objects would be overwritten" in held["reason"] and "0 deleted at the source" in held["reason"]
    assert "threshold 25%" in held["reason"] and "book-00/page.bin" in held["reason"]
    assert "Mirror event" not in run.messages(books)
    assert run.messages(d.buckets[1]) == ["Starting mirror", "Completed mirror"]
    assert run.log[-1]["message"] == "Backup failed" and "held by the guard" in run.log[-1]["reason"]
    for key, body in bodies.items():
        assert d.read(books, key, side="backup") == body, f"{key}: the backup's current version changed"
    assert metric(d, "dream_backup_bucket_held", books) == "1"
    assert metric(d, "dream_backup_changed_objects", books) == str(PAGES // 2)
    assert metric(d, "dream_backup_bucket_success", books) == "0"
    assert metric(d, "dream_backup_bucket_held", d.buckets[1]) == "0"

    assert d.run().code == 1, "a held night stays held until accepted"
    accepted = d.run("--accept-changes", "--bucket", books, env={"SUDO_USER": "alice"})
    assert accepted.code == 0, accepted.log
    line = accepted.last("Changes accepted")
    assert line["bucket"] == books and line["accepted_by"] == "alice" and line["changed"] == PAGES // 2
    assert line["would_hold"] is True
    for key, body in rewritten.items():
        assert d.read(books, key, side="backup") == body
    assert metric(d, "dream_backup_bucket_held", books) == "0"
    after = d.run()
    assert after.code == 0 and "Changes accepted" not in after.messages()


@pytest.mark.parametrize("engine", ENGINES)
def test_emptied_source_is_held_whatever_its_size(deploy, engine, tmp_path):
    d, books, bodies = seeded(deploy, engine, tmp_path, BACKUP_GUARD_MIN_OBJECTS="1000", BACKUP_REMOVE="true")
    for key in bodies:
        d.src.remove_object(books, key)
    run = d.run()
    assert run.code == 1
    held = held_line(run, books)
    assert "the source lists no objects" in held["reason"] and f"{PAGES} deleted" in held["reason"]
    assert d.backup_keys(books) == set(bodies)
    assert metric(d, "dream_backup_deleted_objects", books) == str(PAGES)


@pytest.mark.parametrize("engine", ENGINES)
def test_deletions_below_the_threshold_are_mirrored_above_it_held(deploy, engine, tmp_path):
    d, books, bodies = seeded(deploy, engine, tmp_path, BACKUP_REMOVE="true")
    keys = sorted(bodies)
    for key in keys[:4]:  # 20%
        d.src.remove_object(books, key)
    run = d.run()
    assert run.code == 0, run.log
    assert d.backup_keys(books) == set(keys[4:])
    assert metric(d, "dream_backup_deleted_objects", books) == "4"
    for key in keys[4:9]:  # 5 of the 16 of the last backup: 31%
        d.src.remove_object(books, key)
    held = d.run()
    assert held.code == 1 and "5 deleted at the source" in held_line(held, books)["reason"]
    assert d.backup_keys(books) == set(keys[4:])


@pytest.mark.parametrize("engine", ENGINES)
def test_trash_with_the_guard_off_is_mirrored(deploy, engine, tmp_path):
    d = deploy(engine)
    trash = d.buckets[2]
    d.write_env(BACKUP_GUARD=f"*=25,{trash}=off", BACKUP_GUARD_MIN_OBJECTS="5")
    for i in range(10):
        d.put(trash, f"purged-{i}", b"old")
    assert d.run().code == 0
    for i in range(10):
        d.put(trash, f"purged-{i}", b"new")
    run = d.run()
    assert run.code == 0, run.log
    assert "Mirror held" not in run.messages()
    assert d.read(trash, "purged-3", side="backup") == b"new"


def test_state_another_account_could_forge_is_refused(deploy, tmp_path, shared_dir):
    state = shared_dir / "state"
    d, books, _ = seeded(deploy, "rclone", tmp_path, BACKUP_STATE_DIR=str(state))
    assert state.stat().st_mode & 0o777 == 0o700
    nobody = pwd.getpwnam("nobody")
    forged = state / f"{books}.last.sqlite"
    os.chown(forged, nobody.pw_uid, nobody.pw_gid)
    d.put(books, "new-book/page.bin", b"new")
    run = d.run()
    assert run.code == 2
    assert f"guard state file {forged}" in run.log[-1]["reason"] and "nobody" in run.log[-1]["reason"]
    assert "new-book/page.bin" not in d.backup_keys(books), "refused before anything was copied"

    os.chown(forged, 0, 0)
    apps_state = state / f"{d.buckets[1]}.last.sqlite"
    apps_state.unlink()
    state.chmod(0o733)  # another account may now plant files in it
    planted = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sh", "-c",
                              f"echo x > {apps_state}"], capture_output=True, check=False)
    assert planted.returncode == 0, planted.stderr
    run = d.run()
    assert run.code == 2 and f"state directory {state}" in run.log[-1]["reason"]
    state.chmod(0o700)
    run = d.run()
    assert run.code == 2 and f"guard state file {apps_state}" in run.log[-1]["reason"]
    apps_state.unlink()
    run = d.run()
    assert run.code == 0 and "new-book/page.bin" in d.backup_keys(books)


def backup_play(d: Deployment, tmp_path, *extra: str) -> subprocess.CompletedProcess:
    """playbooks/backup.yml on this machine, running the deployment's program and env file."""
    wrapper = tmp_path / "dream-backup"
    wrapper.write_text(f"#!/bin/sh\nexec {sys.executable} {PROGRAM} --env-file {d.env_file} \"$@\"\n")
    wrapper.chmod(0o755)
    inventory = tmp_path / "hosts.json"
    inventory.write_text(json.dumps({"backup_hosts": {"hosts": {"vps1": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable, "ansible_become": False}}}}))
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1", HOME=str(tmp_path))
    return subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory),
                           "playbooks/backup.yml", "-e", f"minio_backup_run_command={wrapper}", *extra],
                          capture_output=True, text=True, env=env, cwd=REPO, check=False, timeout=600)


def test_the_controller_accepts_a_held_night_for_named_buckets(deploy, tmp_path):
    d, books, bodies = seeded(deploy, "rclone", tmp_path)
    for key, body in list(bodies.items())[:PAGES // 2]:
        d.put(books, key, os.urandom(len(body)))
    held = backup_play(d, tmp_path)
    assert held.returncode != 0 and "held by the guard" in held.stdout
    unnamed = backup_play(d, tmp_path, "-e", "minio_backup_accept_changes=true")
    assert unnamed.returncode != 0 and "name the buckets whose change you accept" in unnamed.stdout
    before = d.log_path.stat().st_size
    accepted = backup_play(d, tmp_path, "-e", "minio_backup_accept_changes=true",
                           "-e", json.dumps({"minio_backup_run_buckets": [books]}))
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    line = next(r for r in d.log_since(before) if r["message"] == "Changes accepted")
    assert line["bucket"] == books and line["changed"] == PAGES // 2
    assert d.run().code == 0
