"""The IAM policies in policies/ are valid JSON that IAM and MinIO accept, and each allows exactly the S3
actions that its key's table in docs/security.md lists (the table is read from the code: a right the
code needs and the policy lacks, or a right granted that no command uses, fails here)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
POLICIES = REPO / "policies"
DOC = REPO / "docs" / "security.md"
ACTION = re.compile(r"`(s3:[A-Za-z]+)`")
NAMES = ("dream-backup-source-read", "dream-backup-target-write", "dream-backup-restore",
         "dream-backup-rehearsal", "dream-backup-target-admin")
# What no key a VPS holds may ever do to the off-site history.
NEVER_ON_THE_VPS = {"s3:DeleteObjectVersion", "s3:PutLifecycleConfiguration", "s3:PutBucketVersioning",
                    "s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:BypassGovernanceRetention",
                    "s3:PutBucketObjectLockConfiguration", "s3:DeleteBucket"}


def statements(name: str) -> list[dict]:
    document = json.loads((POLICIES / f"{name}.json").read_text())
    assert document["Version"] == "2012-10-17"
    assert set(document) == {"Version", "Statement"}
    return document["Statement"]


def actions(name: str, effect: str) -> set[str]:
    return {a for s in statements(name) if s["Effect"] == effect for a in s["Action"]}


def table_actions(name: str) -> set[str]:
    """The actions in the table rows of the section whose heading names the policy."""
    text = DOC.read_text()
    heading = re.search(rf"^### .*`{re.escape(name)}`$", text, re.MULTILINE)
    assert heading, f"docs/security.md has no section for {name}"
    section = text[heading.end():].split("\n### ", 1)[0].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    assert rows, f"the section for {name} has no table"
    return {a for row in rows for a in ACTION.findall(row)}


def test_the_policy_set_is_complete():
    assert sorted(p.stem for p in POLICIES.glob("*.json")) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_each_statement_is_well_formed(name):
    for statement in statements(name):
        assert set(statement) <= {"Sid", "Effect", "Action", "Resource", "Condition"}
        assert statement["Effect"] in ("Allow", "Deny")
        assert statement["Action"] and all(ACTION.fullmatch(f"`{a}`") for a in statement["Action"])
        assert statement["Resource"] and all(r.startswith("arn:aws:s3:::") for r in statement["Resource"])
        assert "*" not in statement["Action"] and "arn:aws:s3:::*" not in statement["Resource"]


@pytest.mark.parametrize("name", NAMES)
def test_the_policy_allows_exactly_what_the_docs_table_lists(name):
    assert actions(name, "Allow") == table_actions(name)


@pytest.mark.parametrize("name", ["dream-backup-source-read", "dream-backup-target-write", "dream-backup-rehearsal"])
def test_the_keys_on_a_vps_can_never_erase_the_history_or_loosen_its_protection(name):
    assert not actions(name, "Allow") & NEVER_ON_THE_VPS


def test_the_nightly_source_key_cannot_write():
    assert actions("dream-backup-source-read", "Allow") == {"s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject"}


def test_the_target_key_writes_only_below_the_hosts_prefix_and_denies_the_rest_explicitly():
    for statement in statements("dream-backup-target-write"):
        if statement["Effect"] == "Allow" and "s3:PutObject" in statement["Action"]:
            assert statement["Resource"] == ["arn:aws:s3:::dream-central-storage-backups/HOST_PREFIX/*"]
    assert actions("dream-backup-target-write", "Deny") >= NEVER_ON_THE_VPS
    listed = set(ACTION.findall(DOC.read_text().split("also denies explicitly", 1)[1].split("\n\n", 1)[0]))
    assert listed == actions("dream-backup-target-write", "Deny")


def test_the_rehearsal_key_reaches_the_scratch_bucket_alone():
    resources = {r for s in statements("dream-backup-rehearsal") for r in s["Resource"]}
    assert resources == {"arn:aws:s3:::dream-backup-rehearsal", "arn:aws:s3:::dream-backup-rehearsal/*"}
