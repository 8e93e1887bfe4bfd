"""Least privilege in the test world (docs/security.md): the nightly jobs pass with the VPS's scoped
keys, and those keys are refused by the server when they try to write production, erase a backup
version or change the off-site bucket's settings."""

from __future__ import annotations

import io
import json

import pytest
from minio.commonconfig import ENABLED, GOVERNANCE, Filter
from minio.deleteobjects import DeleteObject
from minio.error import S3Error
from minio.lifecycleconfig import LifecycleConfig, NoncurrentVersionExpiration, Rule
from minio.objectlockconfig import DAYS, ObjectLockConfig
from minio.versioningconfig import SUSPENDED, VersioningConfig

from tests.support.s3world import HOST_TARGET_BUCKET, HOST_TARGET_PREFIX, read_object

BODIES = {f"book-{i}/page.txt": f"page {i} ".encode() * (i + 1) for i in range(4)}
RULE = LifecycleConfig([Rule(ENABLED, rule_filter=Filter(prefix=""), rule_id="dream-backup-history",
                             noncurrent_version_expiration=NoncurrentVersionExpiration(noncurrent_days=1))])


def denied(call) -> None:
    with pytest.raises(S3Error) as caught:
        call()
    assert caught.value.code == "AccessDenied", caught.value


def host_scoped_target(d):
    """The one target bucket whose scoped key writes only below its host's prefix, versioned and with
    the history rule whichever test of the worker's world comes first; the admin client."""
    admin = d.offsite.admin_client()
    if not admin.bucket_exists(HOST_TARGET_BUCKET):
        admin.make_bucket(HOST_TARGET_BUCKET)
    admin.set_bucket_versioning(HOST_TARGET_BUCKET, VersioningConfig(ENABLED))
    admin.set_bucket_lifecycle(HOST_TARGET_BUCKET, RULE)
    return admin


def seeded(d) -> str:
    books = d.buckets[0]
    for key, body in BODIES.items():
        d.put(books, key, body)
    return books


@pytest.mark.parametrize("engine", ["rclone", "mc"])
def test_the_nightly_backup_drill_verify_and_check_pass_with_the_scoped_keys(deploy, engine):
    d = deploy(engine, least_privilege=True)
    assert d.variables()["MINIO_SOURCE_ACCESS_KEY"] == d.primary.source_access_key
    books = seeded(d)
    run = d.run()
    assert run.code == 0, run.stderr
    assert run.messages()[-1] == "Backup completed"
    assert {k: d.read(books, k, side="backup") for k in BODIES} == BODIES
    for command in (["drill"], ["verify-content"], ["check"]):
        result = d.run(*command)
        assert result.code == 0, (command, result.stdout, result.stderr)


def test_the_vps_keys_cannot_write_production(deploy):
    d = deploy(least_privilege=True)
    books = seeded(d)
    source, target = d.primary.scoped_client("source"), d.primary.scoped_client("target")
    assert read_object(source, books, "book-1/page.txt") == BODIES["book-1/page.txt"]  # it reads
    for key in (source, target):
        denied(lambda key=key: key.put_object(books, "ransom.txt", io.BytesIO(b"pay"), 3))
        denied(lambda key=key: key.remove_object(books, "book-1/page.txt"))
        denied(lambda key=key: key.make_bucket(f"books-new-{d.token}"))
    denied(lambda: source.put_object(f"books-missing-{d.token}", "k", io.BytesIO(b""), 0))
    assert read_object(d.src, books, "book-1/page.txt") == BODIES["book-1/page.txt"]
    assert "ransom.txt" not in {o.object_name for o in d.src.list_objects(books)}


def test_the_target_key_cannot_erase_a_locked_backup_version(deploy):
    """SeaweedFS's Write covers deletes: the history rests on object lock there (an IAM server denies
    s3:DeleteObjectVersion by policy as well)."""
    d = deploy(least_privilege=True)
    locked = f"offsite-locked-{d.token}"
    admin = d.offsite.admin_client()
    admin.make_bucket(locked, object_lock=True)
    admin.set_object_lock_config(locked, ObjectLockConfig(GOVERNANCE, 1, DAYS))
    d.write_env(BACKUP_TARGET_BUCKET=locked)
    seeded(d)
    assert d.run().code == 0
    target = d.offsite.scoped_client("target")
    key = d.backup_key(d.buckets[0], "book-1/page.txt")
    version = next(o.version_id for o in admin.list_objects(locked, prefix=key, include_version=True))
    denied(lambda: target.remove_object(locked, key, version_id=version))
    errors = list(target.remove_objects(locked, [DeleteObject(key, version)], bypass_governance_mode=True))
    assert [e.code for e in errors] == ["AccessDenied"]
    assert read_object(admin, locked, key, version_id=version) == BODIES["book-1/page.txt"]


def test_a_target_key_scoped_to_its_hosts_prefix_backs_up_but_cannot_change_the_buckets_settings(deploy):
    d = deploy(least_privilege=True)
    admin = host_scoped_target(d)
    assert d.prefix == HOST_TARGET_PREFIX
    d.write_env(BACKUP_TARGET_BUCKET=HOST_TARGET_BUCKET, BACKUP_TARGET_ACCESS_KEY=d.offsite.host_target_access_key,
                BACKUP_TARGET_SECRET_KEY=d.offsite.host_target_secret_key)
    books = seeded(d)
    run = d.run()
    assert run.code == 0, run.stderr
    assert read_object(admin, HOST_TARGET_BUCKET, f"{HOST_TARGET_PREFIX}/{books}/book-0/page.txt") \
        == BODIES["book-0/page.txt"]
    assert d.run("check").code == 0

    target = d.offsite.scoped_client("host_target")
    denied(lambda: target.set_bucket_lifecycle(HOST_TARGET_BUCKET, LifecycleConfig(
        [Rule(ENABLED, rule_filter=Filter(prefix=""), rule_id="dream-backup-history",
              noncurrent_version_expiration=NoncurrentVersionExpiration(noncurrent_days=36500))])))
    denied(lambda: target.delete_bucket_lifecycle(HOST_TARGET_BUCKET))
    denied(lambda: target.set_bucket_versioning(HOST_TARGET_BUCKET, VersioningConfig(SUSPENDED)))
    denied(lambda: target.put_object(HOST_TARGET_BUCKET, "another-host/x", io.BytesIO(b"x"), 1))
    rules = admin.get_bucket_lifecycle(HOST_TARGET_BUCKET).rules
    assert [r.noncurrent_version_expiration.noncurrent_days for r in rules] == [1]
    assert admin.get_bucket_versioning(HOST_TARGET_BUCKET).status == ENABLED


def test_a_restore_into_production_is_refused_without_the_restore_key(deploy):
    d = deploy(least_privilege=True)
    books = seeded(d)
    assert d.run().code == 0
    d.src.remove_object(books, "book-1/page.txt")
    d.restore_key = False
    refused = d.run("restore", "--bucket", books)
    assert refused.code == 2
    assert "MINIO_RESTORE_ACCESS_KEY and MINIO_RESTORE_SECRET_KEY are not set" in refused.stderr
    assert refused.last("Restore failed")["reason"].startswith("a restore writes into production")
    assert "book-1/page.txt" not in {o.object_name for o in d.src.list_objects(books, recursive=True)}
    half = d.run("restore", "--bucket", books, env={"MINIO_RESTORE_ACCESS_KEY": d.primary.restore_access_key})
    assert half.code == 2 and "MINIO_RESTORE_SECRET_KEY is not set" in half.stderr
    plan = d.run("restore", "--bucket", books, "--dry-run", "--json")  # reading needs no write key
    assert plan.code == 0 and '"would_restore": 1' in plan.stdout


def test_the_restore_key_never_goes_into_the_env_file(deploy):
    d = deploy(least_privilege=True)
    d.write_env(MINIO_RESTORE_ACCESS_KEY=d.primary.restore_access_key,
                MINIO_RESTORE_SECRET_KEY=d.primary.restore_secret_key)
    run = d.run("restore", "--bucket", d.buckets[0])
    assert run.code == 2 and "MINIO_RESTORE_ACCESS_KEY must never be in the env file" in run.stderr
    assert d.primary.restore_secret_key not in run.stderr + run.stdout


@pytest.mark.parametrize("engine", ["rclone", "mc"])
def test_a_restore_writes_production_with_the_key_given_at_run_time(deploy, engine):
    d = deploy(engine, least_privilege=True)
    books = seeded(d)
    assert d.run().code == 0
    d.src.remove_object(books, "book-2/page.txt")
    run = d.run("restore", "--bucket", books, "--json")
    assert run.code == 0, run.stderr
    assert read_object(d.src, books, "book-2/page.txt") == BODIES["book-2/page.txt"]
    secret = d.primary.restore_secret_key
    assert secret not in d.recorded_argv() + run.stdout + run.stderr + d.log_path.read_text()
    assert secret not in d.env_file.read_text()


def test_the_scheduled_rehearsal_writes_its_scratch_bucket_with_its_own_key(deploy):
    d = deploy(least_privilege=True)
    books = seeded(d)
    assert d.run().code == 0
    d.restore_key = False  # the scheduled run on the VPS: no restore key there
    d.write_env(BACKUP_REHEARSAL_BUCKET=f"rehearsal-{d.token}")
    refused = d.run("rehearse", "--bucket", books)
    assert refused.code == 2 and "BACKUP_REHEARSAL_ACCESS_KEY" in refused.stderr
    d.write_env(BACKUP_REHEARSAL_ACCESS_KEY=d.primary.rehearsal_access_key,
                BACKUP_REHEARSAL_SECRET_KEY=d.primary.rehearsal_secret_key)
    run = d.run("rehearse", "--bucket", books)
    assert run.code == 0, run.stderr
    assert "Completed restore rehearsal" in run.messages()
    scratch_key = d.primary.scoped_client("rehearsal")
    denied(lambda: scratch_key.put_object(books, "ransom.txt", io.BytesIO(b"pay"), 3))
    denied(lambda: scratch_key.remove_object(books, "book-0/page.txt"))


def rights(d) -> dict[str, dict]:
    run = d.run("check", "--json")
    assert run.code == 0, run.stdout + run.stderr
    return {c["check"]: c for c in json.loads(run.stdout)["checks"] if " key " in c["check"]}


def test_check_reports_the_keys_rights_without_changing_anything(deploy):
    d = deploy(least_privilege=True)
    books = seeded(d)
    admin = d.offsite.admin_client()
    admin.set_bucket_lifecycle(d.target_bucket, RULE)
    scoped = rights(d)
    for bucket in d.buckets:
        assert scoped[f"source key writes {bucket}"]["rights"] == "cannot", scoped
        assert "warning" not in scoped[f"source key writes {bucket}"]
    # SeaweedFS's bucket-wide Write also changes lifecycle and versioning: check says so.
    for what in ("lifecycle", "versioning"):
        found = scoped[f"target key changes {what}"]
        assert found["rights"] == "can" and found["warning"] and "dream-backup-target-write" in found["detail"]

    d.write_env(MINIO_SOURCE_ACCESS_KEY=d.primary.access_key, MINIO_SOURCE_SECRET_KEY=d.primary.secret_key)
    harness = rights(d)  # the harness's key may do anything
    assert harness[f"source key writes {books}"]["rights"] == "can"
    assert "dream-backup-source-read" in harness[f"source key writes {books}"]["detail"]

    assert {o.object_name for o in d.src.list_objects(books, recursive=True)} == set(BODIES)  # nothing written
    assert [r.rule_id for r in admin.get_bucket_lifecycle(d.target_bucket).rules] == ["dream-backup-history"]
    assert admin.get_bucket_versioning(d.target_bucket).status == ENABLED
    assert d.primary.secret_key not in d.log_path.read_text()


def test_check_finds_a_target_key_scoped_to_its_prefix_cannot_change_the_bucket(deploy):
    d = deploy(least_privilege=True)
    host_scoped_target(d)
    d.write_env(BACKUP_TARGET_BUCKET=HOST_TARGET_BUCKET, BACKUP_TARGET_ACCESS_KEY=d.offsite.host_target_access_key,
                BACKUP_TARGET_SECRET_KEY=d.offsite.host_target_secret_key)
    found = rights(d)
    assert found["target key changes lifecycle"]["rights"] == "cannot"
    assert found["target key changes versioning"]["rights"] == "cannot"
