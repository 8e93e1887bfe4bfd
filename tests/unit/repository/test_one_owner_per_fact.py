"""One owner per fact (issue #24): each metric name, each log message the status module reads and each
default path is spelled as a string once in the repository's Python, in module_utils/dcs_facts.py; the
program (src/dream_backup/facts.py is a link to that file, stored in the zipapp as a plain file), the
modules and the tests import it.

Left out of the search, because they cannot import Python or are not a definition:
- tests/ and docs/ (they state the contract to check it or explain it);
- benchmarks/ (measurement harnesses that read the program's log, as the tests do);
- the committed zipapp roles/minio_backup/files/backup_minio.pyz (a build of src/, facts.py inside);
- YAML and other non-Python files: role defaults and argument specs, Molecule checks, the Prometheus
  rules and alert tests under monitoring/ and the Grafana dashboard must spell the names themselves."""

from __future__ import annotations

import subprocess

import ansible_collections.dream.backup.plugins.module_utils.dcs_facts as facts
import pytest
import yaml

from tests.unit.conftest import REPO, load_module

EXCLUDED = (":!tests", ":!docs", ":!benchmarks", ":!roles/minio_backup/files/backup_minio.pyz")
STATUS_READS = (facts.COMPLETED_MIRROR, facts.MIRROR_FAILED, facts.MIRROR_HELD)
PATHS = (facts.ENV_FILE, facts.BACKUP_LOG, facts.DRILL_LOG, facts.LOCK_FILE, facts.STATE_DIR)


def spelled(value: str) -> list[str]:
    """Every line of tracked Python outside the exclusions that holds ``value`` as a whole string literal."""
    result = subprocess.run(
        ["git", "grep", "-n", "-F", "-e", f'"{value}"', "-e", f"'{value}'", "--", "*.py", *EXCLUDED],
        cwd=REPO, capture_output=True, text=True, check=False)
    assert result.returncode in (0, 1), result.stderr
    return result.stdout.splitlines()


@pytest.mark.parametrize("value", [*facts.METRICS, *STATUS_READS, *PATHS])
def test_each_fact_is_defined_once_in_module_utils(value):
    lines = spelled(value)
    assert len(lines) == 1 and lines[0].startswith("module_utils/dcs_facts.py:"), (
        f"{value!r} should be spelled once, in module_utils/dcs_facts.py; found:\n" + "\n".join(lines))


def test_the_program_and_the_modules_share_the_file():
    link = REPO / "src" / "dream_backup" / "facts.py"
    assert link.is_symlink() and link.resolve() == REPO / "module_utils" / "dcs_facts.py"


def test_the_status_module_reads_what_the_program_writes():
    """The messages the status module looks for are among those the program's log writes, and the metrics
    it reads are among those the program's metrics file declares."""
    program_log = (REPO / "src" / "dream_backup" / "log.py").read_text()
    for name in ("COMPLETED_MIRROR", "MIRROR_FAILED", "MIRROR_HELD"):
        assert f"{name} = facts.{name}" in program_log
    status = load_module("backup_status_info")
    assert status.LAST_RUN in facts.METRICS and status.EXIT_CODE in facts.METRICS


# The role defaults an inventory overrides must say what the program assumes when a value is absent: the
# YAML cannot import dcs_facts, so this test ties each default path to it.
ROLE_DEFAULTS = {
    ("minio_backup_common", "minio_backup_env_file"): facts.ENV_FILE,
    ("minio_backup_common", "minio_backup_log"): facts.BACKUP_LOG,
    ("minio_backup_common", "minio_backup_drill_log"): facts.DRILL_LOG,
    ("minio_backup", "minio_backup_lock_file"): facts.LOCK_FILE,
    ("minio_backup", "_minio_backup_state_dir"): facts.STATE_DIR,  # vars/: no inventory sets it
}


@pytest.mark.parametrize(("role", "variable"), sorted(ROLE_DEFAULTS))
def test_a_role_default_path_is_the_one_dcs_facts_defines(role, variable):
    where = "vars" if variable.startswith("_") else "defaults"
    values = yaml.safe_load((REPO / "roles" / role / where / "main.yml").read_text(encoding="utf-8"))
    assert values[variable] == ROLE_DEFAULTS[(role, variable)], (
        f"roles/{role}/{where}/main.yml: {variable} differs from module_utils/dcs_facts.py")
