"""The pre-commit hooks are `make lint` before each commit: the same commands, in the same order, by the
tools of the project's virtualenv, and a commit with a lint finding is refused."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.program import REPO

CONFIG = REPO / ".pre-commit-config.yaml"
BIN = Path(sys.executable).parent


def lint_recipe() -> list[list[str]]:
    """The commands of the Makefile's lint target, one argv each (make's @ and - prefixes dropped)."""
    lines = (REPO / "Makefile").read_text(encoding="utf-8").replace("\\\n", " ").splitlines()
    start = next(number for number, line in enumerate(lines) if line.startswith("lint:"))
    commands = []
    for line in lines[start + 1:]:
        if not line.startswith("\t"):
            break
        command = line.strip().lstrip("@-").strip()
        assert "$" not in command, f"the lint recipe uses a make variable pre-commit cannot read: {command}"
        commands.append(shlex.split(command))
    assert commands, "the Makefile's lint target has no recipe"
    return commands


def hooks() -> list[dict]:
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    assert [repo["repo"] for repo in config["repos"]] == ["local"], "only local hooks: nothing to fetch or pin"
    return config["repos"][0]["hooks"]


def test_the_hooks_run_exactly_the_commands_of_make_lint_in_order():
    assert [shlex.split(hook["entry"]) for hook in hooks()] == lint_recipe()


def test_every_hook_uses_the_virtualenvs_tool_on_the_whole_tree():
    for hook in hooks():
        # system: the tool on PATH (the project's .venv), no environment of pre-commit's own to install.
        assert hook["language"] == "system", hook
        assert "additional_dependencies" not in hook, hook
        # Like `make lint`, the whole tree: a hook given only the staged files would lint less.
        assert hook["pass_filenames"] is False, hook


def test_each_hook_has_a_unique_id_and_runs_for_some_kind_of_file():
    ids = [hook["id"] for hook in hooks()]
    assert len(ids) == len(set(ids)), ids
    for hook in hooks():
        assert hook.get("types") or hook.get("types_or") or hook.get("always_run"), hook


def pre_commit_world(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A git repository with this repository's hook and lint configuration, pre-commit's hook installed,
    and an environment in which the tools are the virtualenv's (as `make lint` puts them on PATH)."""
    pytest.importorskip("pre_commit", reason="pre-commit is not installed (requirements-dev.txt has it)")
    work = tmp_path / "work"
    work.mkdir()
    for name in (".pre-commit-config.yaml", ".yamllint", "pyproject.toml"):
        shutil.copy2(REPO / name, work / name)
    env = {name: value for name, value in os.environ.items() if not name.startswith(("GIT_", "PRE_COMMIT"))}
    env.update(PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", PRE_COMMIT_HOME=str(tmp_path / "cache"),
               HOME=str(tmp_path), GIT_CONFIG_NOSYSTEM="1", GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com",
               SKIP="ansible-lint")  # minutes on a real tree; its command is checked against make lint above
    git(work, env, "init", "--quiet")
    done = subprocess.run([sys.executable, "-m", "pre_commit", "install"], cwd=work, env=env, capture_output=True,
                          text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return work, env


def git(work: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=work, env=env, capture_output=True, text=True, check=False,
                          timeout=300)


def test_pre_commit_validates_the_config():
    pytest.importorskip("pre_commit", reason="pre-commit is not installed (requirements-dev.txt has it)")
    done = subprocess.run([sys.executable, "-m", "pre_commit", "validate-config", str(CONFIG)],
                          capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(("name", "bad", "good", "finding"), [
    # The repository's .yamllint allows only true/false: its settings are the ones the hook applies.
    ("vars.yml", "---\nenabled: yes\n", "---\nenabled: true\n", "truthy value should be one of"),
    ("tool.py", "import os\n", "import os\n\nprint(os.sep)\n", "F401"),
])
def test_a_commit_with_a_lint_finding_is_refused_and_goes_through_once_fixed(tmp_path, name, bad, good, finding):
    work, env = pre_commit_world(tmp_path)
    (work / name).write_text(bad)
    git(work, env, "add", "--all")
    refused = git(work, env, "commit", "--quiet", "-m", "bad")
    assert refused.returncode != 0, refused.stdout + refused.stderr
    assert finding in refused.stdout + refused.stderr
    assert git(work, env, "rev-parse", "--verify", "--quiet", "HEAD").returncode != 0, "nothing was committed"
    (work / name).write_text(good)
    git(work, env, "add", "--all")
    accepted = git(work, env, "commit", "--quiet", "-m", "good")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
