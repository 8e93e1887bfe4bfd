"""The guard's inventory variables (docs/guard.md): minio_backup_guard becomes BACKUP_GUARD in the env
file's variables, the preflight refuses what YAML turned into something else, and the env module
refuses a bad value naming it."""

from __future__ import annotations

import json

import pytest

from tests.unit.conftest import REPO
from tests.unit.roles.role_play import include_tasks, local_host, run_play

ROLE = REPO / "roles" / "minio_backup"


def rendered(tmp_path, **extra) -> dict:
    """The guard's entries of the env file's variables, as the role computes them."""
    # -e: the role's defaults come in through vars_files here, which host variables do not override.
    proc = run_play(tmp_path, local_host(), {
        "gather_facts": False, "vars_files": [str(ROLE / "defaults" / "main.yml"), str(ROLE / "vars" / "main.yml")],
        "tasks": [{"ansible.builtin.debug": {"msg": "GUARD={{ {'g': _minio_backup_env_optional.BACKUP_GUARD, "
                                                    "'m': _minio_backup_env_optional.BACKUP_GUARD_MIN_OBJECTS} "
                                                    "| to_json }}"}}]}, "-e", json.dumps(extra))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(json.loads(proc.stdout.split('"msg": ', 1)[1].split("\n", 1)[0]).removeprefix("GUARD="))


def test_the_default_is_the_programs(tmp_path):
    assert rendered(tmp_path) == {"g": "*=25,trash=off", "m": "100"}


def test_a_dict_becomes_the_env_files_setting_in_its_order(tmp_path):
    assert rendered(tmp_path, minio_backup_guard={"books": 10, "*": 30, "trash": "off"},
                    minio_backup_guard_min_objects=0) == {"g": "books=10,*=30,trash=off", "m": "0"}


@pytest.mark.parametrize(("guard", "passes"), [
    ({"*": 25, "trash": "off"}, True),
    ({"*": 2.5}, True),
    ({"*": 25, "trash": False}, False),  # a bare `off` in YAML
    ({"*": "lots"}, False),
    ({}, False),
])
def test_preflight_refuses_what_is_not_a_percent_or_off(tmp_path, guard, passes):
    hosts = {"ansible_connection": "local", "minio_backup_source_endpoint": "http://minio:9000",
             "minio_backup_source_access_key": "sa", "minio_backup_source_secret_key": "ss",
             "minio_backup_target_access_key": "ta", "minio_backup_target_secret_key": "ts",
             "minio_backup_target_endpoint": "https://offsite.example", "minio_backup_guard": guard}
    proc = run_play(tmp_path, {"all": {"hosts": {"vps1": hosts}}},
                    {"gather_facts": True, "tasks": [include_tasks("minio_backup", "preflight.yml")]})
    assert (proc.returncode == 0) is passes, proc.stdout
    if not passes:
        assert "minio_backup_guard must map bucket names" in proc.stdout
