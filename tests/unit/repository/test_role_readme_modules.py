"""Each role's README names, in its Requirements section, every module of library/ that the role's tasks
call, so an operator copying a role elsewhere knows which of this repository's modules it needs."""

from __future__ import annotations

import pytest
import yaml

from tests.unit.conftest import REPO

MODULES = {path.stem for path in (REPO / "library").glob("*.py")}
ROLES = sorted(path.name for path in (REPO / "roles").iterdir() if (path / "tasks").is_dir())


def tasks(items: list) -> list[dict]:
    found = []
    for task in items or []:
        found.append(task)
        for key in ("block", "rescue", "always"):
            found += tasks(task.get(key))
    return found


def modules_used(role: str) -> set[str]:
    used = set()
    for path in (REPO / "roles" / role / "tasks").glob("*.yml"):
        for task in tasks(yaml.safe_load(path.read_text(encoding="utf-8"))):
            # Roles call them by their names in the collection (dream.backup.backup_env).
            used |= MODULES & {key.removeprefix("dream.backup.") for key in task}
    return used


def test_some_role_calls_a_module_of_the_repository():
    assert modules_used("minio_backup") >= {"backup_env", "backup_cron", "backup_systemd_timer", "backup_script"}


@pytest.mark.parametrize("role", ROLES)
def test_role_readme_names_every_module_its_tasks_call(role):
    readme = (REPO / "roles" / role / "README.md").read_text(encoding="utf-8")
    requirements = readme.split("\n## Requirements\n", 1)[-1].split("\n## ", 1)[0]
    missing = sorted(name for name in modules_used(role) if f"`{name}`" not in requirements)
    assert not missing, f"roles/{role}/README.md's Requirements do not name the modules its tasks call: {missing}"
