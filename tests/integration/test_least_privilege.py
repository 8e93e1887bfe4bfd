"""Least privilege in the test world (docs/security.md): the nightly jobs pass with the VPS's scoped
keys, and those keys are refused by the server when they try to write production, erase a backup
version or change the off-site bucket's settings."""

from __future__ import annotations

import io

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
    admin = d.offsite.admin_client()
    if not admin.bucket_exists(HOST_TARGET_BUCKET):
        admin.make_bucket(HOST_TARGET_BUCKET)
        admin.set_bucket_versioning(HOST_TARGET_BUCKET, VersioningConfig(ENABLED))
        admin.set_bucket_lifecycle(HOST_TARGET_BUCKET, RULE)
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
