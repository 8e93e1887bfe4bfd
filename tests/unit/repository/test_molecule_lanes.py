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


FAKE_MOLECULE = """#!/bin/bash
# Stands in for `molecule test -s NAME`: records the lane's fleet, "first" waits until "second" (dealt to
# the other lane) has started, "broken" fails.
name=$3
echo "start $name"
echo "$DCS_MOLECULE_FLEET" >"$FAKE_DIR/$name.fleet"
if [[ $name == first ]]; then
  for _ in $(seq 600); do [[ -e $FAKE_DIR/second.fleet ]] && break; sleep 0.1; done
  [[ -e $FAKE_DIR/second.fleet ]] || { echo "second never started beside first"; exit 3; }
fi
[[ $name == broken ]] && { echo "broken says why"; exit 4; }
echo "end $name"
"""


def test_lanes_run_side_by_side_print_each_output_whole_and_fail_when_a_scenario_fails(tmp_path):
    names = ["broken", "first", "second"]  # none measured: dealt by name, broken+second | first
    for name in names:
        (tmp_path / "molecule" / name).mkdir(parents=True)
        (tmp_path / "molecule" / name / "molecule.yml").write_text("---\n")
    bin_dir, fake_dir = tmp_path / "bin", tmp_path / "fake"
    bin_dir.mkdir()
    fake_dir.mkdir()
    (bin_dir / "molecule").write_text(FAKE_MOLECULE)
    (bin_dir / "molecule").chmod(0o755)
    done = subprocess.run([str(SCRIPT), *names], cwd=tmp_path, capture_output=True, text=True, check=False,
                          env={"PATH": f"{bin_dir}:/usr/bin:/bin", "FAKE_DIR": str(fake_dir)}, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "failed: broken" in done.stderr
    assert (fake_dir / "first.fleet").read_text() == "dcs-lane2\n"
    assert (fake_dir / "second.fleet").read_text() == "dcs-lane1\n"
    lines = done.stdout.splitlines()
    for name in names:  # the header, then that scenario's lines and nothing between them
        header = next(i for i, line in enumerate(lines) if line.startswith(f"=== molecule test -s {name} "))
        assert lines[header + 1] == f"start {name}"
    assert lines[lines.index("start first") + 1] == "end first"
    assert lines[lines.index("start broken") + 1] == "broken says why"
    summary = next(i for i, line in enumerate(lines) if line.startswith("=== Molecule scenarios: seconds"))
    rows = [re.fullmatch(r"(\S+) +\d+ s  lane (\d)  exit (\d+)", line).groups() for line in lines[summary + 1:]]
    assert rows == [("broken", "1", "4"), ("first", "2", "0"), ("second", "1", "0")]
    assert (tmp_path / ".cache/apt/dcs-lane1/vps2/lists/partial").is_dir()
