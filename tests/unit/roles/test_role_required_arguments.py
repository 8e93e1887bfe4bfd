"""Required inventory variables have no default: a role refuses to start without them, naming each one,
and the install role's preflight names the ones that are set but empty, without showing their values."""

from __future__ import annotations

import subprocess

import pytest

from tests.unit.roles.role_play import include_tasks, local_host, role_name, run_play

SECRET = "required-SECRET-value-3318"
KEYS = {"minio_backup_source_access_key": "sa", "minio_backup_source_secret_key": SECRET,
        "minio_backup_target_access_key": "ta", "minio_backup_target_secret_key": SECRET}
ENDPOINTS = {"minio_backup_source_endpoint": "http://minio-a:9000",
             "minio_backup_target_endpoint": "https://offsite.example"}


def play(tmp_path, host_vars: dict, tasks_or_role: dict) -> subprocess.CompletedProcess:
    """One host over the local connection, --check: nothing on this machine is changed."""
    return run_play(tmp_path, local_host(**host_vars), {"gather_facts": False, **tasks_or_role}, "--check")


@pytest.mark.parametrize(("role", "host_vars", "missing"), [
    ("minio_backup", {"minio_backup_source_endpoint": "http://minio-a:9000", "minio_backup_source_access_key": "sa"},
     "minio_backup_source_secret_key, minio_backup_target_access_key, minio_backup_target_endpoint, "
     "minio_backup_target_secret_key"),
    ("minio_restore", {}, "minio_restore_bucket"),
    ("minio_backup_target", {**ENDPOINTS, **KEYS},
     "minio_backup_target_admin_access_key, minio_backup_target_admin_secret_key"),
])
def test_a_role_names_every_required_variable_the_inventory_lacks(tmp_path, role, host_vars, missing):
    proc = play(tmp_path, host_vars, {"roles": [role_name(role)]})
    assert proc.returncode != 0
    assert f"missing required arguments: {missing}" in proc.stdout
    assert SECRET not in proc.stdout + proc.stderr


def test_preflight_names_required_variables_that_are_empty_and_hides_their_values(tmp_path):
    empty = {"minio_backup_target_endpoint": "", "minio_backup_target_access_key": ""}
    proc = play(tmp_path, {**ENDPOINTS, **KEYS, **empty},
                {"gather_facts": True, "tasks": [include_tasks("minio_backup", "preflight.yml")]})
    assert proc.returncode != 0
    assert ("Set minio_backup_target_endpoint, minio_backup_target_access_key in the inventory or vault: they have "
            "no default and must not be empty") in proc.stdout
    assert SECRET not in proc.stdout + proc.stderr
