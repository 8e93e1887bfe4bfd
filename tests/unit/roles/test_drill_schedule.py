"""The quarterly restore drill's cron job, a part of the install role's scheduler phase (drill_schedule.yml),
through ansible-playbook on the controller in check mode with --diff (nothing is installed here); and the
drill role, which runs a drill and never edits cron."""

from __future__ import annotations

import json

import yaml

from tests.unit.conftest import REPO
from tests.unit.roles.test_minio_backup_scheduler import play

TASK = "dream.backup.minio_backup : Cron | quarterly restore drill job in /etc/cron.d"
PROGRAM = "/usr/local/bin/dream-backup"


def drill_job(tmp_path, **host_vars) -> dict:
    """The host's result of drill_schedule.yml for these variables."""
    proc = play(tmp_path, "drill_schedule.yml", host_vars, "--check", "--diff")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    results = {t["task"]["name"]: t["hosts"]["vps1"] for p in json.loads(proc.stdout)["plays"] for t in p["tasks"]}
    return results[TASK]


def cron_file(result: dict) -> str:
    diff = result["diff"] if isinstance(result["diff"], dict) else result["diff"][0]
    return diff["after"]


def test_off_by_default_installs_nothing(tmp_path):
    assert drill_job(tmp_path)["changed"] is False


def test_on_it_runs_a_drill_at_the_start_of_each_quarter_as_root_into_the_cron_log(tmp_path):
    result = drill_job(tmp_path, minio_backup_drill_cron=True)
    assert result["changed"] is True
    assert (f"30 3 1 1,4,7,10 * root {PROGRAM} drill >> /var/log/minio-backup.cron.log 2>&1"
            in cron_file(result).splitlines())


def test_the_drill_roles_old_variables_still_switch_it_on_and_set_the_schedule(tmp_path):
    result = drill_job(tmp_path, minio_restore_drill_cron=True, minio_restore_drill_cron_schedule="15 2 1 * *")
    assert result["changed"] is True
    assert f"15 2 1 * * root {PROGRAM} drill >> /var/log/minio-backup.cron.log 2>&1" in cron_file(result).splitlines()


def test_the_drill_role_never_edits_cron():
    role = REPO / "roles" / "minio_restore_drill"
    tasks = [task for path in sorted((role / "tasks").glob("*.yml")) for task in yaml.safe_load(path.read_text())]
    modules = {key for task in tasks for key in task if key not in ("name", "register", "when", "failed_when",
                                                                    "delegate_to", "become", "throttle", "vars")}
    assert not {m for m in modules if "cron" in m or "systemd" in m}, modules
