"""`make molecule` deals the scenarios to two lanes (tests/support/molecule_lanes.sh): every scenario runs
exactly once, also one the script has no measured duration for, and each lane has a fleet of its own."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.support.program import REPO

SCRIPT = REPO / "tests" / "support" / "molecule_lanes.sh"


def repository_scenarios() -> list[str]:
    return sorted(p.parent.name for p in (REPO / "molecule").glob("*/molecule.yml"))


def plan(scenarios: list[str], cwd: Path = REPO, lanes: str | None = None) -> dict[int, tuple[str, list[str]]]:
    env = {"PATH": "/usr/bin:/bin"} | ({"DCS_MOLECULE_LANES": lanes} if lanes else {})
    done = subprocess.run([str(SCRIPT), "--plan", *scenarios], cwd=cwd, env=env, capture_output=True, text=True,
                          check=True, timeout=60)
    lines = {}
    for line in done.stdout.splitlines():
        found = re.fullmatch(r"lane (\d+) \(fleet (\S+), ~\d+ s measured\): (.*)", line.strip())
        assert found, done.stdout
        names = found.group(3).split()
        lines[int(found.group(1))] = (found.group(2), [] if names == ["nothing"] else names)
    return lines


def test_every_scenario_of_the_repository_runs_once_in_one_of_two_lanes():
    scenarios = repository_scenarios()
    lanes = plan(scenarios)
    assert sorted(lanes) == [1, 2]
    dealt = [name for _, names in lanes.values() for name in names]
    assert sorted(dealt) == scenarios
    fleets = [fleet for fleet, _ in lanes.values()]
    assert len(set(fleets)) == 2 and not {"dcs"} & set(fleets)  # never the single run's dcs-vps1/dcs-vps2


def test_a_scenario_without_a_measured_duration_still_runs_and_goes_first(tmp_path):
    for name in ("default", "brand-new"):
        (tmp_path / "molecule" / name).mkdir(parents=True)
        (tmp_path / "molecule" / name / "molecule.yml").write_text("---\n")
    lanes = plan(["default", "brand-new"], cwd=tmp_path)
    assert lanes[1][1] == ["brand-new"] and lanes[2][1] == ["default"]


def test_an_unknown_scenario_or_lane_count_is_refused_before_anything_runs():
    missing = subprocess.run([str(SCRIPT), "--plan", "not-a-scenario"], cwd=REPO, capture_output=True,
                             text=True, check=False, timeout=60)
    assert missing.returncode == 2 and "molecule/not-a-scenario/molecule.yml" in missing.stderr
    bad = subprocess.run([str(SCRIPT), "--plan", "default"], cwd=REPO, capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin", "DCS_MOLECULE_LANES": "0"}, check=False, timeout=60)
    assert bad.returncode == 2 and "DCS_MOLECULE_LANES" in bad.stderr
