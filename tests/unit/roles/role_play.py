"""Runs a play of the repository's roles through ansible-playbook on this machine over the local
connection: how the unit tests ask a role's own preflight, argument specs and rendered files. Callers
use --check or task files that only assert, so nothing is installed here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.unit.conftest import REPO

BIN = Path(sys.executable).parent


def ansible_env(tmp_path, **extra: str) -> dict:
    """A clean environment: this venv's Ansible, the repository's config (and so its collection dream.backup),
    HOME in tmp_path."""
    return {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(tmp_path), "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            "ANSIBLE_NOCOLOR": "1", "ANSIBLE_LOCAL_TEMP": str(tmp_path),
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable, **extra}


def local_host(**host_vars) -> dict:
    """An inventory of one host, vps1, reached over the local connection."""
    return {"all": {"hosts": {"vps1": {"ansible_connection": "local", **host_vars}}}}


def role_name(role: str) -> str:
    """A role of the repository by its name in the collection dream.backup."""
    return f"dream.backup.{role}"


def include_tasks(role: str, tasks_from: str) -> dict:
    """A task that runs one task file of a role."""
    return {"name": f"{role} {tasks_from}",
            "ansible.builtin.include_role": {"name": role_name(role), "tasks_from": tasks_from}}


def run_play(tmp_path, inventory: dict, play: dict, *args: str, **env: str) -> subprocess.CompletedProcess:
    """One play (``play`` holds its keys besides name and hosts) on every host of ``inventory``."""
    inventory_file = tmp_path / "hosts.json"
    inventory_file.write_text(json.dumps(inventory))
    playbook = tmp_path / "play.yml"
    playbook.write_text(json.dumps([{"name": "Role play", "hosts": "all", **play}]))
    return subprocess.run([str(BIN / "ansible-playbook"), *args, "-i", str(inventory_file), str(playbook)],
                          capture_output=True, text=True, check=False, cwd=REPO, env=ansible_env(tmp_path, **env))
