"""monitoring/: the alert rules pass promtool's check and their unit tests, every Grafana panel's query is
valid PromQL, and both use only metrics the backup program writes."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess

import pytest
import yaml

from tests.unit.conftest import REPO

PROMETHEUS = REPO / "monitoring" / "prometheus"
RULES = PROMETHEUS / "dream-backup.rules.yml"
RULE_TESTS = sorted((PROMETHEUS / "tests").glob("*.test.yml"))
DASHBOARD = REPO / "monitoring" / "grafana" / "dream-backup.json"
# Every metric the program writes, with its HELP text (module_utils/dcs_facts.py, the program's facts.py).
PROGRAM_METRICS = REPO / "module_utils" / "dcs_facts.py"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool is not installed (Debian package prometheus; "
                             "tests/support/install_system_deps.sh installs it)")


def promtool(*args, cwd=REPO):
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, cwd=cwd, check=False, timeout=1800)


def alerts():
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def dashboard_queries():
    """(where, PromQL) of every panel target and of the metric behind the host variable."""
    dash = json.loads(DASHBOARD.read_text())
    queries = [(f"panel {p['id']} {t['refId']}", t["expr"]) for p in dash["panels"] for t in p["targets"]]
    for variable in dash["templating"]["list"]:
        if variable["type"] == "query":
            metric = re.fullmatch(r"label_values\((\w+), *\w+\)", variable["definition"]).group(1)
            queries.append((f"variable {variable['name']}", metric))
    return queries


def program_metrics():
    spec = importlib.util.spec_from_file_location("dcs_facts_for_monitoring", PROGRAM_METRICS)
    facts = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(facts)
    return set(facts.METRICS)


@needs_promtool
def test_rules_pass_promtool_check():
    proc = promtool("check", "rules", str(RULES))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"SUCCESS: {len(alerts())} rules found" in proc.stdout


@needs_promtool
@pytest.mark.parametrize("test_file", RULE_TESTS, ids=lambda p: p.name)
def test_rules_unit_tests_pass(test_file):
    proc = promtool("test", "rules", test_file.name, cwd=test_file.parent)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


def test_every_alert_is_actionable_and_tested_firing_and_silent():
    tested = {}
    for test_file in RULE_TESTS:
        for case in yaml.safe_load(test_file.read_text())["tests"]:
            for check in case["alert_rule_test"]:
                tested.setdefault(check["alertname"], set()).add(bool(check.get("exp_alerts")))
    for rule in alerts():
        name = rule["alert"]
        assert rule["labels"]["severity"] in ("warning", "critical"), name
        assert "{{ $labels.instance }}" in rule["annotations"]["summary"], name
        assert "/var/log/" in rule["annotations"]["description"] or "playbooks/" in rule["annotations"]["description"]
        # Each test case also holds series that must stay silent; a check expecting none proves the
        # `for:` or the silent case too.
        assert tested.get(name) == {True, False}, f"{name}: needs a firing and a silent check"


def test_rules_and_dashboard_use_only_metrics_the_program_writes():
    known = program_metrics()
    assert "dream_backup_exit_code" in known
    used = set(re.findall(r"dream_backup_\w+", RULES.read_text() + DASHBOARD.read_text()))
    assert used and used <= known, used - known


def test_dashboard_is_loadable_grafana_json():
    dash = json.loads(DASHBOARD.read_text())
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids)) and dash["uid"] == "dream-backup"
    for panel in dash["panels"]:
        assert panel["targets"], panel["title"]
        assert panel["datasource"]["uid"] == "${datasource}"
        assert {"x", "y", "w", "h"} <= set(panel["gridPos"])
    titles = " ".join(p["title"].lower() for p in dash["panels"])
    for topic in ("successful backup", "bytes", "objects", "duration", "exit code", "drill"):
        assert topic in titles, topic


@needs_promtool
def test_every_dashboard_query_is_valid_promql(tmp_path):
    # One recording rule per query: promtool parses each expression (Grafana's $instance becomes a regex).
    queries = dashboard_queries()
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:query_{i}", "expr": expr.replace("$instance", ".*")}
        for i, (_, expr) in enumerate(queries)]}]}
    path = tmp_path / "dashboard.rules.yml"
    path.write_text(yaml.safe_dump(rules))
    proc = promtool("check", "rules", str(path))
    assert proc.returncode == 0, proc.stdout + proc.stderr + "\n" + "\n".join(f"{i}: {w}" for i, (w, _) in
                                                                              enumerate(queries))
    assert f"SUCCESS: {len(queries)} rules found" in proc.stdout
