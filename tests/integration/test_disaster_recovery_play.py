"""The disaster recovery role (playbooks/disaster-recovery.yml) through ansible-playbook on this machine,
running the built program against real SeaweedFS: the plan and the refusal without minio_dr_confirm
(nothing written), a recovery of every bucket with its per-bucket lines and total time, and a recovery
that goes on past a bad bucket and names each bucket that did not come back whole."""

from __future__ import annotations

import re
import socket
import sys
from datetime import UTC, datetime

import pytest

from tests.integration.conftest import sha256
from tests.support.program import PROGRAM, Deployment
from tests.unit.roles.role_play import local_host, run_play


def installed(d: Deployment) -> str:
    """The program as the role calls it (dream-backup COMMAND --json ARGS), configured for ``d``."""
    wrapper = d.root / "dream-backup"
    wrapper.write_text(f"#!/bin/sh\nHOME={d.root} exec {sys.executable} {PROGRAM} --env-file {d.env_file} \"$@\"\n")
    wrapper.chmod(0o755)
    return str(wrapper)


def production(d: Deployment) -> dict[str, dict[str, bytes]]:
    return {b: {o.object_name: d.read(b, o.object_name) for o in d.src.list_objects(b, recursive=True)}
            for b in d.buckets if d.src.bucket_exists(b)}


def lose_production(d: Deployment) -> None:
    for bucket in d.buckets:
        for obj in d.src.list_objects(bucket, recursive=True):
            d.src.remove_object(bucket, obj.object_name)
        d.src.remove_bucket(bucket)


def recover(d: Deployment, tmp_path, *args: str, buckets: list[str] | None = None, **extra):
    key = d.restore_env()  # the restore key, from the controller's inventory (vault)
    host = local_host(minio_backup_buckets=d.buckets, minio_dr_command=installed(d),
                      minio_restore_source_access_key=key["MINIO_RESTORE_ACCESS_KEY"],
                      minio_restore_source_secret_key=key["MINIO_RESTORE_SECRET_KEY"], **extra)
    if buckets is not None:
        host["all"]["hosts"]["vps1"]["minio_dr_buckets"] = buckets
    return run_play(tmp_path, host, {"gather_facts": False, "roles": ["dream.backup.minio_dr"]}, *args)


def backed_up(d: Deployment) -> dict[str, dict[str, bytes]]:
    for i, bucket in enumerate(d.buckets):
        for j in range(3):
            d.put(bucket, f"item-{j}/data.bin", f"{bucket} {i} {j} ".encode() * (j + 1), content_type="text/plain")
    assert d.run().code == 0
    return production(d)


def test_without_confirmation_the_plan_is_shown_and_nothing_written(deploy, tmp_path):
    d = deploy()
    backed_up(d)
    lose_production(d)
    check = recover(d, tmp_path, "--check", minio_dr_confirm=True)
    assert check.returncode == 0 and f"{d.buckets[0]}: would restore 3 objects" in check.stdout
    assert "Total recovery time" not in check.stdout
    play = recover(d, tmp_path)
    assert play.returncode != 0
    for bucket in d.buckets:
        assert f"{bucket}: would restore 3 objects" in play.stdout
    assert "Re-run with -e minio_dr_confirm=true" in play.stdout and "nothing was written" in play.stdout
    assert not any(d.src.bucket_exists(b) for b in d.buckets)


@pytest.mark.parametrize("engine", ["rclone", "mc"])
def test_recovery_brings_every_bucket_back_and_prints_the_time(deploy, tmp_path, engine):
    d = deploy(engine)
    before = backed_up(d)
    lose_production(d)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    play = recover(d, tmp_path, minio_dr_confirm=True, minio_restore_as_of=now)
    assert play.returncode == 0, play.stdout[-3000:]
    assert f"as of {now}" in play.stdout
    for bucket in d.buckets:
        assert re.search(rf"{bucket}: 3 objects, \d+ bytes, [0-9.]+ s \(0 already present\)", play.stdout)
    assert re.search(r"Total recovery time on vps1: [0-9.]+ s for 9 objects in 3 buckets", play.stdout)
    after = production(d)
    assert {b: {k: sha256(v) for k, v in o.items()} for b, o in after.items()} == \
        {b: {k: sha256(v) for k, v in o.items()} for b, o in before.items()}
    assert [r["message"] for r in d.log_since(0) if r["message"].endswith("restore")].count("Completed restore") == 3


def test_each_bucket_that_did_not_come_back_whole_is_named(deploy, tmp_path):
    d = deploy()
    backed_up(d)
    books, apps, _ = d.buckets
    never_backed_up = f"empty-{d.token}"
    d.put(books, "item-0/data.bin", b"changed in production since")  # present, differs: left alone
    for obj in d.src.list_objects(apps, recursive=True):
        d.src.remove_object(apps, obj.object_name)
    play = recover(d, tmp_path, buckets=[books, never_backed_up, apps], minio_dr_confirm=True)
    assert play.returncode != 0
    failure = re.search(r"Disaster recovery on vps1 incomplete: (.*)", play.stdout).group(1)
    assert books in failure and "minio_dr_overwrite=true" in failure
    assert never_backed_up in failure and "nothing to restore" in failure
    assert apps not in failure
    assert len(list(d.src.list_objects(apps, recursive=True))) == 3  # the others went on
    assert d.read(books, "item-0/data.bin") == b"changed in production since"


def test_an_unreachable_production_stops_the_play_before_anything_is_written(deploy, tmp_path):
    d = deploy()
    backed_up(d)
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        d.write_env(MINIO_SOURCE_ENDPOINT=f"http://127.0.0.1:{closed.getsockname()[1]}")
        play = recover(d, tmp_path, minio_dr_confirm=True)
    assert play.returncode != 0
    failure = re.search(r"Disaster recovery on vps1 cannot start, nothing was written: (.*)", play.stdout).group(1)
    assert all(bucket in failure for bucket in d.buckets)
    assert "Total recovery time" not in play.stdout
