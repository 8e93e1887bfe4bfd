"""`make help` is the map of the repository's entry points: every .PHONY target on one line, with
what it does, and nothing that is not a target."""

from __future__ import annotations

import re
import subprocess

from tests.support.program import REPO


def phony_targets() -> list[str]:
    text = (REPO / "Makefile").read_text(encoding="utf-8").replace("\\\n", " ")
    declared = [line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith(".PHONY:")]
    return [target for line in declared for target in line]


def help_lines() -> list[str]:
    done = subprocess.run(["make", "-s", "help"], cwd=REPO, capture_output=True, text=True, check=True, timeout=60)
    return done.stdout.splitlines()


def test_the_makefile_declares_its_targets_phony():
    targets = phony_targets()
    assert {"help", "test", "demo", "demo-down"} <= set(targets)
    assert len(targets) == len(set(targets))


def test_help_names_every_phony_target_once_with_what_it_does():
    lines = help_lines()
    for target in phony_targets():
        described = [line for line in lines if re.match(rf"make {re.escape(target)}\s+\S", line)]
        assert len(described) == 1, f"`make help` must describe `make {target}` on exactly one line:\n" + \
            "\n".join(lines)


def test_help_lists_nothing_else():
    named = [re.match(r"make (\S+)", line) for line in help_lines()]
    assert all(named), "every line of `make help` names a target"
    assert sorted(m.group(1) for m in named) == sorted(phony_targets())


def test_help_is_the_default_goal():
    done = subprocess.run(["make", "-s"], cwd=REPO, capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.splitlines() == help_lines()
