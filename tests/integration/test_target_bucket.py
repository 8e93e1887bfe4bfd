"""The off-site bucket as code: backup_target_bucket and the minio_backup_target role through
ansible-playbook against the real off-site SeaweedFS, with its bucket-owner (admin) key."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from minio.commonconfig import ENABLED, Filter
from minio.deleteobjects import DeleteObject
from minio.error import S3Error
from minio.lifecycleconfig import Expiration, LifecycleConfig, Rule
from minio.versioningconfig import VersioningConfig

from tests.conftest import REPO
from tests.support.s3world import S3Server, S3World

RULE_ID = "dream-backup-history"
LOCK_REASON = "object lock can only be enabled when the bucket is created"


def fresh_bucket(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}"


def ansible_playbook(inventory: Path, playbook: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    return subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), str(playbook),
                           *args], capture_output=True, text=True, env=env, cwd=REPO, check=False)


def recap(output: str, host: str) -> dict[str, int]:
    line = re.search(rf"^{re.escape(host)}\s*:(.*)$", output, re.MULTILINE).group(1)
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}


class ModulePlay:
    """One backup_target_bucket task on localhost; the keys live in a file, never on argv."""

    def __init__(self, tmp: Path, server: S3Server, bucket: str, **options):
        self.tmp, self.server, self.bucket = tmp, server, bucket
        self.inventory = tmp / "inventory.yml"
        self.inventory.write_text(json.dumps({"all": {"hosts": {"localhost": {
            "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
            "admin_access_key": server.admin_access_key, "admin_secret_key": server.admin_secret_key}}}}))
        self.inventory.chmod(0o600)
        self.playbook = tmp / "play.yml"
        self.write(**options)

    def write(self, **options) -> None:
        args = {"endpoint": self.server.endpoint, "bucket": self.bucket, "access_key": "{{ admin_access_key }}",
                "secret_key": "{{ admin_secret_key }}", **options}
        play = [{"name": "Off-site bucket", "hosts": "localhost", "gather_facts": False,
                 "tasks": [{"name": "bucket", "dream.backup.backup_target_bucket": args, "register": "bucket_result"},
                           {"name": "result", "ansible.builtin.debug": {"var": "bucket_result"}}]}]
        self.playbook.write_text(json.dumps(play))

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return ansible_playbook(self.inventory, self.playbook, *args)


def our_rule(client, bucket: str) -> Rule:
    return next(r for r in client.get_bucket_lifecycle(bucket).rules if r.rule_id == RULE_ID)


def assert_no_secret(server: S3Server, *outputs: str) -> None:
    for output in outputs:
        assert server.admin_secret_key not in output
        assert server.secret_key not in output


def test_offsite_server_has_a_separate_admin_identity(s3_world: S3World, tmp_path):
    offsite = s3_world.by_name("offsite")
    assert offsite.admin_access_key and offsite.admin_access_key != offsite.access_key
    bucket = fresh_bucket("admin-made")
    offsite.admin_client().make_bucket(bucket)
    assert offsite.client().bucket_exists(bucket)  # the VPS's key works on the same server
    with pytest.raises(S3Error):
        S3Server(**{**offsite.__dict__, "admin_secret_key": "wrong"}).admin_client().list_buckets()
    # The state file and `env` carry the admin key for inventories and shells.
    s3_world.save(tmp_path)
    loaded = S3World.load(tmp_path).by_name("offsite")
    assert (loaded.admin_access_key, loaded.admin_secret_key) == (offsite.admin_access_key, offsite.admin_secret_key)
    env = subprocess.run([sys.executable, "-m", "tests.support.s3world", "env", "--state", str(tmp_path)],
                         capture_output=True, text=True, cwd=REPO, check=True).stdout
    assert f"S3_OFFSITE_ADMIN_ACCESS_KEY={offsite.admin_access_key}" in env


def test_check_changes_nothing_then_creates_then_is_idempotent(s3_world: S3World, tmp_path):
    offsite = s3_world.by_name("offsite")
    admin = offsite.admin_client()
    bucket = fresh_bucket("history")
    play = ModulePlay(tmp_path, offsite, bucket)

    check = play.run("--check", "--diff")
    assert check.returncode == 0, check.stdout[-3000:]
    assert recap(check.stdout, "localhost")["changed"] == 1
    assert not admin.bucket_exists(bucket)
    assert f"--- before: s3://{bucket}" in check.stdout
    assert '-    "exists": false,' in check.stdout and '+    "exists": true,' in check.stdout
    assert '+    "versioning": "Enabled"' in check.stdout and f'"id": "{RULE_ID}"' in check.stdout
    assert f"create bucket {bucket}" in check.stdout

    real = play.run("--diff")
    assert real.returncode == 0, real.stdout[-3000:]
    assert recap(real.stdout, "localhost")["changed"] == 1
    assert admin.get_bucket_versioning(bucket).status == "Enabled"
    rule = our_rule(admin, bucket)
    assert rule.status == "Enabled" and rule.rule_filter.prefix == ""
    assert rule.noncurrent_version_expiration.noncurrent_days == 90
    assert rule.noncurrent_version_expiration.newer_noncurrent_versions == 3
    assert rule.expiration.expired_object_delete_marker is True
    assert "warning" not in real.stdout.lower()  # this server stores every field of the rule

    again = play.run("--diff")
    assert again.returncode == 0 and recap(again.stdout, "localhost")["changed"] == 0
    assert '"changes": []' in again.stdout
    assert_no_secret(offsite, check.stdout + check.stderr, real.stdout + real.stderr, again.stdout + again.stderr)


def test_existing_bucket_is_converged_and_other_rules_are_kept(s3_world: S3World, tmp_path):
    offsite = s3_world.by_name("offsite")
    admin = offsite.admin_client()
    bucket = fresh_bucket("seeded")
    admin.make_bucket(bucket)
    admin.set_bucket_versioning(bucket, VersioningConfig(ENABLED))
    theirs = Rule(ENABLED, rule_filter=Filter(prefix="tmp/"), rule_id="their-tmp-cleanup",
                  expiration=Expiration(days=7))
    admin.set_bucket_lifecycle(bucket, LifecycleConfig([theirs]))
    admin.put_object(bucket, "books/a.txt", io.BytesIO(b"kept"), 4)

    play = ModulePlay(tmp_path, offsite, bucket, noncurrent_days=30, noncurrent_keep=0)
    first = play.run()
    assert first.returncode == 0, first.stdout[-3000:]
    assert recap(first.stdout, "localhost")["changed"] == 1
    rules = {r.rule_id: r for r in admin.get_bucket_lifecycle(bucket).rules}
    assert set(rules) == {"their-tmp-cleanup", RULE_ID}
    assert rules["their-tmp-cleanup"].rule_filter.prefix == "tmp/" and rules["their-tmp-cleanup"].expiration.days == 7
    assert rules[RULE_ID].noncurrent_version_expiration.noncurrent_days == 30
    assert not rules[RULE_ID].noncurrent_version_expiration.newer_noncurrent_versions
    assert admin.get_object(bucket, "books/a.txt").read() == b"kept"
    assert recap(play.run().stdout, "localhost")["changed"] == 0

    play.write(noncurrent_days=60, noncurrent_keep=5)
    changed = play.run("--diff")
    assert changed.returncode == 0 and recap(changed.stdout, "localhost")["changed"] == 1
    assert '-        "noncurrent_days": 30,' in changed.stdout and '+        "noncurrent_days": 60,' in changed.stdout
    rules = {r.rule_id: r for r in admin.get_bucket_lifecycle(bucket).rules}
    assert set(rules) == {"their-tmp-cleanup", RULE_ID}
    assert rules[RULE_ID].noncurrent_version_expiration.newer_noncurrent_versions == 5
    assert recap(play.run().stdout, "localhost")["changed"] == 0


def test_lock_on_existing_unlocked_bucket_fails_and_changes_nothing(s3_world: S3World, tmp_path):
    offsite = s3_world.by_name("offsite")
    admin = offsite.admin_client()
    bucket = fresh_bucket("unlocked")
    admin.make_bucket(bucket)  # no versioning, no lifecycle, no lock

    for mode in ("--check", "--diff"):
        result = ModulePlay(tmp_path, offsite, bucket, object_lock=True, lock_days=1).run(mode)
        assert result.returncode != 0
        assert recap(result.stdout, "localhost")["failed"] == 1
        assert LOCK_REASON in result.stdout and "nothing was changed" in result.stdout
        assert_no_secret(offsite, result.stdout + result.stderr)
    assert admin.get_bucket_versioning(bucket).status in (None, "Off")
    assert admin.get_bucket_lifecycle(bucket) is None
    with pytest.raises(S3Error) as caught:
        admin.get_object_lock_config(bucket)
    assert caught.value.code == "ObjectLockConfigurationNotFoundError"


def test_locked_bucket_the_vps_key_cannot_erase_history(s3_world: S3World, tmp_path):
    """A bucket made with object lock (GOVERNANCE, 1 day): a version the VPS wrote cannot be deleted
    with the VPS's key, and a plain delete only hides it behind a delete marker."""
    offsite = s3_world.by_name("offsite")
    bucket = fresh_bucket("locked")
    play = ModulePlay(tmp_path, offsite, bucket, object_lock=True, lock_mode="GOVERNANCE", lock_days=1)
    made = play.run("--diff")
    assert made.returncode == 0, made.stdout[-3000:]
    assert '+        "mode": "GOVERNANCE"' in made.stdout and "set default retention GOVERNANCE 1 days" in made.stdout
    lock = offsite.admin_client().get_object_lock_config(bucket)
    assert (lock.mode, lock.duration, lock.duration_unit) == ("GOVERNANCE", 1, "Days")
    again = play.run()
    assert again.returncode == 0 and recap(again.stdout, "localhost")["changed"] == 0

    vps = offsite.client()
    written = vps.put_object(bucket, "books/book-001/config.json", io.BytesIO(b'{"id": "book-001"}'), 18)
    assert vps.get_object_retention(bucket, "books/book-001/config.json", version_id=written.version_id).mode \
        == "GOVERNANCE"
    with pytest.raises(S3Error) as caught:
        vps.remove_object(bucket, "books/book-001/config.json", version_id=written.version_id)
    assert caught.value.code == "AccessDenied"
    vps.remove_object(bucket, "books/book-001/config.json")  # allowed: adds a delete marker only
    versions = list(vps.list_objects(bucket, include_version=True, recursive=True))
    assert written.version_id in [v.version_id for v in versions if not v.is_delete_marker]
    assert vps.get_object(bucket, "books/book-001/config.json",
                          version_id=written.version_id).read() == b'{"id": "book-001"}'
    assert_no_secret(offsite, made.stdout + made.stderr, again.stdout + again.stderr)


def test_compliance_lock_cannot_be_bypassed_by_the_vps_key(s3_world: S3World, tmp_path):
    """COMPLIANCE: even a delete that asks to bypass governance retention is refused (in this test world the
    VPS's key has the Admin action, which would be allowed to bypass GOVERNANCE)."""
    offsite = s3_world.by_name("offsite")
    bucket = fresh_bucket("compliance")
    made = ModulePlay(tmp_path, offsite, bucket, object_lock=True, lock_mode="COMPLIANCE", lock_days=1).run()
    assert made.returncode == 0, made.stdout[-3000:]
    vps = offsite.client()
    version = vps.put_object(bucket, "apps/build.apk", io.BytesIO(b"PK-build"), 8).version_id
    errors = list(vps.remove_objects(bucket, [DeleteObject("apps/build.apk", version)], bypass_governance_mode=True))
    assert [e.code for e in errors] == ["AccessDenied"]
    assert vps.get_object(bucket, "apps/build.apk", version_id=version).read() == b"PK-build"


def test_wrong_admin_secret_fails_cleanly(s3_world: S3World, tmp_path):
    offsite = s3_world.by_name("offsite")
    wrong = S3Server(**{**offsite.__dict__, "admin_secret_key": "wrong-ADMIN-secret-5521"})
    result = ModulePlay(tmp_path, wrong, fresh_bucket("denied")).run()
    assert result.returncode != 0
    assert re.search(r"reading failed: (AccessDenied|SignatureDoesNotMatch)", result.stdout)
    assert "wrong-ADMIN-secret-5521" not in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


# The role through playbooks/target.yml: hosts are only names here (no task connects to them).
def role_inventory(tmp: Path, offsite: S3Server, hosts: dict[str, dict], **group) -> Path:
    path = tmp / "hosts.yml"
    variables = {"minio_backup_target_endpoint": offsite.endpoint,
                 "minio_backup_target_access_key": offsite.access_key,
                 "minio_backup_target_admin_access_key": offsite.admin_access_key,
                 "minio_backup_target_admin_secret_key": offsite.admin_secret_key,
                 # As in the real inventories: the hosts' interpreter is not the controller's.
                 "ansible_python_interpreter": "/usr/bin/python3", **group}
    path.write_text(json.dumps({"all": {"children": {"backup_hosts": {"hosts": hosts, "vars": variables}}}}))
    path.chmod(0o600)
    return path


def test_role_sets_each_distinct_bucket_once_without_showing_the_secret(s3_world: S3World, tmp_path):
    offsite = s3_world.by_name("offsite")
    admin = offsite.admin_client()
    shared, alone = fresh_bucket("shared"), fresh_bucket("alone")
    inventory = role_inventory(tmp_path, offsite, {
        "vps-a": {"minio_backup_target_bucket": shared}, "vps-b": {"minio_backup_target_bucket": shared},
        "vps-c": {"minio_backup_target_bucket": alone}})
    playbook = REPO / "playbooks" / "target.yml"

    check = ansible_playbook(inventory, playbook, "--check", "--diff")
    assert check.returncode == 0, check.stdout[-3000:]
    assert not admin.bucket_exists(shared) and not admin.bucket_exists(alone)

    first = ansible_playbook(inventory, playbook, "--diff", "-vvv")
    assert first.returncode == 0, first.stdout[-3000:]
    assert first.stdout.count("(item=") == 2  # one module call per distinct bucket
    for bucket in (shared, alone):
        assert admin.get_bucket_versioning(bucket).status == "Enabled"
        assert our_rule(admin, bucket).noncurrent_version_expiration.noncurrent_days == 90
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in first.stdout  # the invocation is shown, masked

    again = ansible_playbook(inventory, playbook)
    assert again.returncode == 0
    assert all(recap(again.stdout, h)["changed"] == 0 for h in ("vps-a", "vps-b", "vps-c"))
    assert_no_secret(offsite, check.stdout + check.stderr, first.stdout + first.stderr, again.stdout + again.stderr)


def assert_refused_before_any_bucket(offsite: S3Server, tmp_path, name: str, hosts: dict, message: str,
                                    **group) -> None:
    """The role fails naming ``message``, creates no bucket, and shows no secret even at -vvv."""
    bucket = fresh_bucket(name)
    inventory = role_inventory(tmp_path, offsite, hosts, minio_backup_target_bucket=bucket, **group)
    result = ansible_playbook(inventory, REPO / "playbooks" / "target.yml", "-vvv")
    assert result.returncode != 0
    assert message in result.stdout
    assert not offsite.admin_client().bucket_exists(bucket)
    assert_no_secret(offsite, result.stdout + result.stderr)


def test_role_refuses_the_vps_key_as_admin_key(s3_world: S3World, tmp_path):
    offsite = s3_world.by_name("offsite")
    assert_refused_before_any_bucket(offsite, tmp_path, "vpskey", {"vps-a": {}}, "must not be the VPS's key",
                                     minio_backup_target_admin_access_key=offsite.access_key,
                                     minio_backup_target_admin_secret_key=offsite.secret_key)


def test_role_refuses_hosts_that_disagree_on_one_bucket(s3_world: S3World, tmp_path):
    assert_refused_before_any_bucket(
        s3_world.by_name("offsite"), tmp_path, "disagree",
        {"vps-a": {}, "vps-b": {"minio_backup_target_noncurrent_days": 7}},
        "have different minio_backup_target_* settings")


def test_role_preflight_names_invalid_settings(s3_world: S3World, tmp_path):
    assert_refused_before_any_bucket(s3_world.by_name("offsite"), tmp_path, "bad", {"vps-a": {}}, "lock_mode",
                                     minio_backup_target_lock_mode="governance", minio_backup_target_lock_days=0)
