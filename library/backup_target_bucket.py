#!/usr/bin/python
"""Ansible module backup_target_bucket: the off-site bucket's history settings (versioning, lifecycle,
object lock), applied with the bucket owner's key from the controller."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: backup_target_bucket
short_description: Keep the off-site backup bucket's history (versioning, lifecycle, object lock)
description:
  - Ensures that the S3 bucket I(bucket) at I(endpoint) exists, has versioning C(Enabled), and carries
    the lifecycle rule C(dream-backup-history) for the whole bucket. The rule expires versions that have
    been noncurrent for I(noncurrent_days) days, always keeps the newest I(noncurrent_keep) noncurrent
    versions, and removes delete markers left without any version (ExpiredObjectDeleteMarker).
  - Other lifecycle rules on the bucket are kept. They are read and written back through the minio SDK,
    which models prefix, tag and and-filters, expiration, transitions and noncurrent actions; a rule the
    SDK cannot read makes the module fail before it writes anything.
  - With I(object_lock=true) the bucket's default retention is set to I(lock_mode) for I(lock_days) days,
    so that no key can delete or overwrite a version before then (a key allowed to bypass governance
    retention can still remove C(GOVERNANCE) versions; C(COMPLIANCE) allows nobody).
    Object lock can only be switched on when a bucket is created; a missing bucket is created with it,
    an existing bucket without it makes the module fail and change nothing.
  - I(object_lock=false) never removes an existing lock or retention.
  - Runs on the controller (C(delegate_to) localhost) with the bucket owner's key, which must not be the
    key the backup hosts use. Needs the minio Python SDK in the Python that runs it.
  - After a write the module reads the settings back. A field the server does not store (for example
    NewerNoncurrentVersions on an older server) is reported as a warning, and a run that changes
    nothing the server reports is C(changed=false) (check mode, which writes nothing, still lists the
    rule as a change on such a server).
version_added: "1.1.0"
author: Dream Central Storage operations (!UNKNOWN)
options:
  endpoint:
    description: S3 endpoint URL, C(http://host:port) or C(https://host[:port]), without a path.
    type: str
    required: true
  bucket:
    description: Name of the off-site bucket.
    type: str
    required: true
  access_key:
    description: Access key of the bucket owner (admin), not the backup hosts' key.
    type: str
    required: true
  secret_key:
    description: Secret key belonging to I(access_key). Never shown in output, diffs or errors.
    type: str
    required: true
  region:
    description: Region of the bucket (used to sign requests and to create the bucket).
    type: str
    default: us-east-1
  ca_file:
    description: PEM bundle of the certificate authorities to trust for an https endpoint (default the certifi bundle).
    type: path
  validate_certs:
    description: Verify the TLS certificate of an https endpoint.
    type: bool
    default: true
  noncurrent_days:
    description: Days a version stays after it became noncurrent before it expires (1 or more).
    type: int
    default: 90
  noncurrent_keep:
    description:
      - Noncurrent versions always kept per key, however old (NewerNoncurrentVersions, 0 to 100).
      - C(0) keeps none beyond I(noncurrent_days).
    type: int
    default: 3
  object_lock:
    description: Set a default retention (object lock). A missing bucket is then created with object lock.
    type: bool
    default: false
  lock_mode:
    description: Retention mode for I(object_lock).
    type: str
    choices: [GOVERNANCE, COMPLIANCE]
    default: GOVERNANCE
  lock_days:
    description: Days of default retention for I(object_lock) (1 or more).
    type: int
    default: 30
extends_documentation_fragment:
  - dream.backup.attributes
attributes:
  check_mode:
    support: full
    details: In check mode the bucket is only read; C(changes) lists what a run would do.
  diff_mode:
    support: full
    details: The diff shows exists, versioning, the C(dream-backup-history) rule and the object lock, before and after.
"""

EXAMPLES = r"""
- name: Off-site bucket keeps 90 days of history, at least 3 versions per object
  backup_target_bucket:
    endpoint: https://s3.backup.example.com
    bucket: dream-central-storage-backups
    access_key: "{{ minio_backup_target_admin_access_key }}"
    secret_key: "{{ minio_backup_target_admin_secret_key }}"
  delegate_to: localhost
  run_once: true

- name: New bucket whose versions nobody can delete for 30 days
  backup_target_bucket:
    endpoint: https://s3.backup.example.com
    bucket: dream-central-storage-backups-locked
    access_key: "{{ minio_backup_target_admin_access_key }}"
    secret_key: "{{ minio_backup_target_admin_secret_key }}"
    object_lock: true
    lock_mode: COMPLIANCE
    lock_days: 30
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
bucket:
  description: The bucket.
  returned: always
  type: str
  sample: dream-central-storage-backups
created:
  description: Whether the bucket was created (or would be, in check mode).
  returned: always
  type: bool
versioning:
  description: Versioning status after the run (C(Enabled), C(Suspended) or C(Off)).
  returned: always
  type: str
  sample: Enabled
lifecycle:
  description: The C(dream-backup-history) rule after the run, as the server reports it.
  returned: always
  type: dict
  sample: {id: dream-backup-history, status: Enabled, prefix: "", noncurrent_days: 90, noncurrent_keep: 3,
           expired_delete_markers: true, expiration_days: null, other_actions: false}
object_lock:
  description: Object lock of the bucket after the run; C(mode) and C(days) of its default retention.
  returned: always
  type: dict
  sample: {enabled: true, mode: GOVERNANCE, days: 30}
changes:
  description: What the run changed (or would change, in check mode), one sentence each.
  returned: always
  type: list
  elements: str
  sample: ["create bucket dream-central-storage-backups", "enable versioning (was Off)"]
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.dream.backup.plugins.module_utils.dcs_s3 import (
    MINIO_IMPORT_ERROR,
    S3_ERRORS,
    MinioException,
    describe_error,
    make_client,
    parse_endpoint,
)

if MINIO_IMPORT_ERROR is None:
    from minio.commonconfig import ENABLED, Filter
    from minio.lifecycleconfig import Expiration, LifecycleConfig, NoncurrentVersionExpiration, Rule
    from minio.objectlockconfig import DAYS, ObjectLockConfig
    from minio.versioningconfig import VersioningConfig

RULE_ID = "dream-backup-history"
LOCK_MISSING = "ObjectLockConfigurationNotFoundError"
# Fields of our rule a server may silently drop: a warning, not a failure.
OPTIONAL_FIELDS = ("noncurrent_keep", "expired_delete_markers")


class Refused(Exception):
    """A request the module turns down before writing anything."""


def rule_view(rule):
    """The parts of a lifecycle rule that matter here, as plain values (None: no rule)."""
    if rule is None:
        return None
    nve = rule.noncurrent_version_expiration
    exp = rule.expiration
    flt = rule.rule_filter
    return {
        "id": rule.rule_id,
        "status": rule.status,
        "prefix": flt.prefix if flt is not None and flt.and_operator is None and flt.tag is None else None,
        "noncurrent_days": nve.noncurrent_days if nve else None,
        "noncurrent_keep": (nve.newer_noncurrent_versions or 0) if nve else None,
        "expired_delete_markers": bool(exp and exp.expired_object_delete_marker),
        "expiration_days": (exp.days if exp else None),
        "other_actions": bool(rule.transition or rule.noncurrent_version_transition
                              or rule.abort_incomplete_multipart_upload or (exp and exp.date)),
    }


def wanted_rule(p):
    keep = p["noncurrent_keep"] or None  # 0: the element is left out (S3 accepts 1..100)
    return Rule(ENABLED, rule_filter=Filter(prefix=""), rule_id=RULE_ID,
                expiration=Expiration(expired_object_delete_marker=True),
                noncurrent_version_expiration=NoncurrentVersionExpiration(
                    noncurrent_days=p["noncurrent_days"], newer_noncurrent_versions=keep))


def read_lock(client, bucket):
    try:
        config = client.get_object_lock_config(bucket)
    except MinioException as exc:
        if getattr(exc, "code", None) == LOCK_MISSING:
            return {"enabled": False, "mode": None, "days": None}
        raise
    days = config.duration if config.duration_unit in (DAYS, "Days", "DAYS") else None
    return {"enabled": True, "mode": config.mode, "days": days}


def read_rules(client, bucket):
    try:
        config = client.get_bucket_lifecycle(bucket)
    except ValueError as exc:  # the SDK could not model a rule: writing back would lose it
        raise Refused(f"the lifecycle configuration of bucket {bucket} has a rule this module cannot read "
                      f"({exc}); it is left untouched") from exc
    return list(config.rules) if config else []


def read_state(client, bucket):
    if not client.bucket_exists(bucket):
        return {"exists": False, "versioning": "Off", "lifecycle": None,
                "object_lock": {"enabled": False, "mode": None, "days": None}}
    ours = next((r for r in read_rules(client, bucket) if r.rule_id == RULE_ID), None)
    return {"exists": True, "versioning": client.get_bucket_versioning(bucket).status or "Off",
            "lifecycle": rule_view(ours), "object_lock": read_lock(client, bucket)}


def plan(p, before, want_rule):
    """Sentences for what differs; raises Refused for what cannot be done."""
    bucket, changes = p["bucket"], []
    if p["object_lock"] and before["exists"] and not before["object_lock"]["enabled"]:
        raise Refused(f"bucket {bucket} exists without object lock, and object lock can only be enabled when "
                      "the bucket is created; nothing was changed (create a new bucket with object_lock=true "
                      "and move the backups there, or set object_lock=false)")
    if not before["exists"]:
        changes.append(f"create bucket {bucket}" + (" with object lock" if p["object_lock"] else ""))
    if before["versioning"] != "Enabled":
        changes.append(f"enable versioning (was {before['versioning']})")
    if before["lifecycle"] != want_rule:
        verb = "update" if before["lifecycle"] else "add"
        keep = f", keep the newest {p['noncurrent_keep']}" if p["noncurrent_keep"] else ""
        changes.append(f"{verb} lifecycle rule {RULE_ID}: expire noncurrent versions after "
                       f"{p['noncurrent_days']} days{keep}, remove expired delete markers")
    want_lock = {"enabled": True, "mode": p["lock_mode"], "days": p["lock_days"]}
    if p["object_lock"] and before["object_lock"] != want_lock:
        changes.append(f"set default retention {p['lock_mode']} {p['lock_days']} days")
    return changes


def apply(client, p, before, want_rule_obj):
    bucket = p["bucket"]
    if not before["exists"]:
        client.make_bucket(bucket, location=p["region"], object_lock=p["object_lock"])
    if client.get_bucket_versioning(bucket).status != "Enabled":
        client.set_bucket_versioning(bucket, VersioningConfig(ENABLED))
    rules = read_rules(client, bucket)
    current = next((r for r in rules if r.rule_id == RULE_ID), None)
    if rule_view(current) != rule_view(want_rule_obj):
        others = [r for r in rules if r.rule_id != RULE_ID]
        client.set_bucket_lifecycle(bucket, LifecycleConfig([*others, want_rule_obj]))
    if p["object_lock"]:
        lock = read_lock(client, bucket)
        if (lock["mode"], lock["days"]) != (p["lock_mode"], p["lock_days"]):
            client.set_object_lock_config(bucket, ObjectLockConfig(p["lock_mode"], p["lock_days"], DAYS))


def check_after(p, after, want_rule, warnings):
    """Fail on what must hold; warn about optional lifecycle fields the server did not keep."""
    bucket = p["bucket"]
    if after["versioning"] != "Enabled":
        raise Refused(f"bucket {bucket}: versioning is {after['versioning']} after enabling it")
    got = after["lifecycle"] or {}
    essential = [k for k in want_rule if k not in OPTIONAL_FIELDS and got.get(k) != want_rule[k]]
    if essential:
        raise Refused(f"bucket {bucket}: the server did not store lifecycle rule {RULE_ID} as written "
                      f"(differs in {', '.join(essential)})")
    warnings.extend(f"bucket {bucket}: the server does not store the lifecycle field {k} "
                    f"(wanted {want_rule[k]}, reads back {got.get(k)})"
                    for k in OPTIONAL_FIELDS if got.get(k) != want_rule[k])
    if p["object_lock"] and after["object_lock"] != {"enabled": True, "mode": p["lock_mode"], "days": p["lock_days"]}:
        raise Refused(f"bucket {bucket}: default retention reads back as {after['object_lock']}")


def predicted(p, before, want_rule):
    """The state check mode expects after a run."""
    lock = before["object_lock"]
    if p["object_lock"]:
        lock = {"enabled": True, "mode": p["lock_mode"], "days": p["lock_days"]}
    return {"exists": True, "versioning": "Enabled", "lifecycle": want_rule, "object_lock": lock}


def main():
    module = AnsibleModule(
        argument_spec={
            "endpoint": {"type": "str", "required": True},
            "bucket": {"type": "str", "required": True},
            "access_key": {"type": "str", "required": True, "no_log": False},  # an identifier; the secret is secret_key
            "secret_key": {"type": "str", "required": True, "no_log": True},
            "region": {"type": "str", "default": "us-east-1"},
            "ca_file": {"type": "path"},
            "validate_certs": {"type": "bool", "default": True},
            "noncurrent_days": {"type": "int", "default": 90},
            "noncurrent_keep": {"type": "int", "default": 3},
            "object_lock": {"type": "bool", "default": False},
            "lock_mode": {"type": "str", "choices": ["GOVERNANCE", "COMPLIANCE"], "default": "GOVERNANCE"},
            "lock_days": {"type": "int", "default": 30},
        },
        supports_check_mode=True,
    )
    p = module.params
    if MINIO_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("minio") + " (install requirements.txt on the controller)",
                         exception=str(MINIO_IMPORT_ERROR))
    if p["noncurrent_days"] < 1:
        module.fail_json(msg=f"noncurrent_days must be 1 or more, got {p['noncurrent_days']}")
    if not 0 <= p["noncurrent_keep"] <= 100:
        module.fail_json(msg=f"noncurrent_keep must be between 0 and 100, got {p['noncurrent_keep']}")
    if p["lock_days"] < 1:
        module.fail_json(msg=f"lock_days must be 1 or more, got {p['lock_days']}")
    if not p["bucket"]:
        module.fail_json(msg="bucket must not be empty")
    try:
        parse_endpoint(p["endpoint"])
    except ValueError as exc:
        module.fail_json(msg=str(exc))

    bucket = p["bucket"]
    want_rule_obj = wanted_rule(p)
    want_rule = rule_view(want_rule_obj)
    warnings = []
    step = "preparing the client"
    try:
        client = make_client(p["endpoint"], p["access_key"], p["secret_key"], p["region"], p["ca_file"],
                             p["validate_certs"])
        step = "reading"
        before = read_state(client, bucket)
        changes = plan(p, before, want_rule)
        if module.check_mode or not changes:
            after = predicted(p, before, want_rule) if changes else before
        else:
            step = "changing"
            apply(client, p, before, want_rule_obj)
            step = "reading back"
            after = read_state(client, bucket)
            check_after(p, after, want_rule, warnings)
    except Refused as exc:
        module.fail_json(msg=str(exc), bucket=bucket)
    except S3_ERRORS as exc:
        module.fail_json(msg=f"bucket {bucket} at {p['endpoint']}: {step} failed: "
                         f"{describe_error(exc, p['secret_key'])}", bucket=bucket)

    changed = bool(changes) if module.check_mode else after != before
    for warning in warnings:
        module.warn(warning)
    result = {"changed": changed, "bucket": bucket, "created": not before["exists"],
              "versioning": after["versioning"], "lifecycle": after["lifecycle"],
              "object_lock": after["object_lock"], "changes": changes if changed else []}
    if module._diff:
        result["diff"] = {"before": before, "after": after, "before_header": f"s3://{bucket}",
                          "after_header": f"s3://{bucket}"}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
