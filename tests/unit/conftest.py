"""Unit-test harness for the modules in library/: runs a module's main() in-process with
ansible.module_utils.testing.patch_module_args and returns what it reported."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from ansible.module_utils.testing import patch_module_args

# The modules import shared code as ansible_collections.dream.backup.plugins.module_utils.<name>,
# importable here because pyproject.toml puts collection/ on pytest's Python path.
REPO = Path(__file__).resolve().parents[2]


def load_module(name: str):
    spec = importlib.util.spec_from_file_location(f"dcs_library_{name}", REPO / "library" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class ModuleRunner:
    def __init__(self, capsys):
        self.capsys = capsys

    def __call__(self, name: str, args: dict, *, check: bool = False, diff: bool = False) -> dict:
        """Run module ``name``; the result dict has ``failed`` set when it called fail_json.

        Also returns the raw JSON text as ``_raw`` so tests can search it for secrets."""
        module = load_module(name)
        full = dict(args, _ansible_check_mode=check, _ansible_diff=diff)
        self.capsys.readouterr()
        with patch_module_args(full), pytest.raises(SystemExit):
            module.main()
        raw = self.capsys.readouterr().out
        result = json.loads(raw)
        result["_raw"] = raw
        return result


@pytest.fixture
def run_module(capsys) -> ModuleRunner:
    return ModuleRunner(capsys)


def tree_snapshot(root: Path) -> dict[str, tuple[int, bytes | str]]:
    """Every path below root with its mode and content (or link target): to prove nothing changed."""
    snap = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        if path.is_symlink():
            snap[str(path)] = (st.st_mode, str(path.readlink()))
        elif path.is_file():
            snap[str(path)] = (st.st_mode, path.read_bytes())
        else:
            snap[str(path)] = (st.st_mode, "dir")
    return snap
