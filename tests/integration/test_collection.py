"""The collection dream.backup as another team gets it: built from this repository by
collection/build.py, installed with ansible-galaxy into a temporary path, and used by its full names from
Ansible runs that see neither this repository's ansible.cfg nor its library/, module_utils/ or roles/."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.program import REPO

BIN = Path(sys.executable).parent
SECRET = "collection-SECRET-value-5521"
# The collection's playbooks, by their names in the collection (- becomes _).
PLAYBOOKS = sorted(path.stem.replace("-", "_") for path in (REPO / "playbooks").glob("*.yml"))


def ansible_env(tmp: Path, collections: Path) -> dict[str, str]:
    """An environment in which Ansible finds modules, roles and shared code only in `collections`:
    no ANSIBLE_* variable of the caller (ANSIBLE_CONFIG points at the repository's ansible.cfg, which
    names library/ and roles/), a config file of its own, and a working directory outside the repository."""
    config = tmp / "ansible.cfg"
    config.write_text("[defaults]\ninterpreter_python = auto_silent\n")
    env = {name: value for name, value in os.environ.items() if not name.startswith("ANSIBLE_")}
    return dict(env, ANSIBLE_CONFIG=str(config), ANSIBLE_COLLECTIONS_PATH=str(collections),
                ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """(a temporary directory, the environment of Ansible runs that have the installed collection)."""
    tmp = tmp_path_factory.mktemp("collection")
    subprocess.run([sys.executable, str(REPO / "collection" / "build.py"), "--out", str(tmp / "build")],
                   check=True, capture_output=True, text=True, timeout=300)
    tarballs = list((tmp / "build" / "dist").glob("dream-backup-*.tar.gz"))
    assert len(tarballs) == 1, tarballs
    env = ansible_env(tmp, tmp / "collections")
    done = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "install", "--offline", "-p",
                           str(tmp / "collections"), str(tarballs[0])],
                          capture_output=True, text=True, env=env, cwd=tmp, check=False, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp / "collections" / "ansible_collections" / "dream" / "backup" / "plugins" / "modules"
            / "backup_env.py").is_file()
    return tmp, env


def env_file_play(tmp: Path, module: str) -> Path:
    variables = {
        "MINIO_SOURCE_ENDPOINT": "https://minio.internal.example.com",
        "MINIO_SOURCE_ACCESS_KEY": "source-access-key", "MINIO_SOURCE_SECRET_KEY": SECRET,
        "BACKUP_TARGET_ENDPOINT": "https://s3.backup.example.com",
        "BACKUP_TARGET_ACCESS_KEY": "backup-access-key", "BACKUP_TARGET_SECRET_KEY": SECRET + "-target",
        "BACKUP_TARGET_BUCKET": "dream-central-storage-backups", "MINIO_BACKUP_BUCKETS": ["books", "apps"],
        "MINIO_BACKUP_LOG": "/var/log/minio-backup.log", "MC_PATH": "/usr/local/bin/mc",
    }
    play = [{
        "name": "The collection's module on localhost", "hosts": "localhost", "connection": "local",
        "gather_facts": False, "vars": {"ansible_python_interpreter": sys.executable},
        "tasks": [{"name": "env file", module: {"path": str(tmp / "etc" / "backup.env"), "variables": variables,
                                                "owner": str(os.getuid()), "group": str(os.getgid())}}],
    }]
    path = tmp / f"play-{module}.yml"
    path.write_text(json.dumps(play))
    return path


def playbook(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "ansible-playbook"), "-i", "localhost,", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, check=False, timeout=600)


def test_backup_env_from_the_installed_collection_in_check_mode_writes_nothing(installed):
    tmp, env = installed
    done = playbook(dict(env, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json"), tmp, "--check", "--diff",
                    str(env_file_play(tmp, "dream.backup.backup_env")))
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    # The module ran (its import of the collection's module_utils included): it would create the file.
    assert result["changed"] is True
    assert result["path"] == str(tmp / "etc" / "backup.env")
    assert "BACKUP_TARGET_BUCKET=\"dream-central-storage-backups\"" in result["diff"]["after"]
    assert SECRET not in done.stdout
    assert not (tmp / "etc").exists()


def test_the_short_name_is_unknown_there_so_the_module_above_came_from_the_collection(installed):
    tmp, env = installed
    done = playbook(env, tmp, "--check", str(env_file_play(tmp, "backup_env")))
    assert done.returncode != 0
    assert "couldn't resolve module/action 'backup_env'" in done.stdout + done.stderr


@pytest.mark.parametrize("name", PLAYBOOKS)
def test_every_playbook_of_the_collection_resolves_its_roles_and_modules(installed, name):
    """--syntax-check loads every role a playbook names, with their dependencies, and fails on any task
    whose module it cannot find: the roles' short module names resolve in the collection. (Roles that
    include_role loads at run time are not loaded here.)"""
    tmp, env = installed
    done = playbook(env, tmp, "--syntax-check", f"dream.backup.{name}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"/ansible_collections/dream/backup/playbooks/{name}.yml" in done.stdout
