"""The minio_backup role's systemd scheduler through ansible-playbook on the controller: the units the
role renders (in check mode with --diff, so nothing is installed here) from its inventory variables, as
systemd-analyze verify judges them, and the preflight's refusals."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess

import pytest

from tests.unit.roles.role_play import include_tasks, local_host, run_play

ANALYZE = shutil.which("systemd-analyze", path="/usr/bin:/bin")
TASK = "dream.backup.minio_backup : Systemd | dream-backup.service and .timer (systemd-analyze verifies them first)"
KEYS = {"minio_backup_source_access_key": "sa", "minio_backup_source_secret_key": "ss",
        "minio_backup_target_access_key": "ta", "minio_backup_target_secret_key": "ts",
        "minio_backup_source_endpoint": "http://minio-a:9000", "minio_backup_target_endpoint": "https://offsite.example"}


def play(tmp_path, tasks_from, host_vars, *args):
    return run_play(tmp_path, local_host(**host_vars, **KEYS),
                    {"gather_facts": True, "tasks": [include_tasks("minio_backup", tasks_from)]}, *args,
                    ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json")


def rendered_units(tmp_path, **host_vars) -> dict[str, str]:
    """The role's units for these variables, from the module's diff in check mode (nothing written)."""
    wrapper = tmp_path / "bin" / "dream-backup.sh"
    wrapper.parent.mkdir()
    wrapper.write_text("#!/bin/sh\nexit 0\n")
    wrapper.chmod(0o755)
    units = tmp_path / "units"
    units.mkdir()
    host_vars = dict({"minio_backup_scheduler": "systemd", "minio_backup_bin_dir": str(wrapper.parent)}, **host_vars)
    proc = play(tmp_path, "systemd.yml", host_vars, "--check", "--diff",
                "-e", json.dumps({"_minio_backup_systemd_unit_dir": str(units)}))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    tasks = [t for p in json.loads(proc.stdout)["plays"] for t in p["tasks"] if t["task"]["name"] == TASK]
    result = tasks[0]["hosts"]["vps1"]
    assert result["changed"] is True and result["verified"] is True, result
    assert list(units.iterdir()) == []
    return {d["after_header"].rsplit("/", 1)[1]: d["after"] for d in result["diff"]}


def verify(tmp_path, units: dict[str, str]) -> None:
    out = tmp_path / "rendered"
    out.mkdir()
    for name, text in units.items():
        (out / name).write_text(text)
    proc = subprocess.run([ANALYZE, "verify", "--man=no", *(str(out / n) for n in units)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and proc.stdout + proc.stderr == "", proc.stdout + proc.stderr


# The bar for every unit the roles install (docs/systemd-sandbox.md); Molecule's systemd scenario
# asks the same of the units systemd loaded.
EXPOSURE_MAX = 3.0


def exposure(tmp_path, name: str, text: str) -> float:
    """The overall exposure `systemd-analyze security` gives the unit file (0 best, 10 worst)."""
    out = tmp_path / "scored"
    out.mkdir(exist_ok=True)
    (out / name).write_text(text)
    proc = subprocess.run([ANALYZE, "security", "--offline=yes", "--no-pager", str(out / name)],
                          capture_output=True, text=True, check=False)
    match = re.search(rf"^→ Overall exposure level for {re.escape(name)}: ([0-9]+[.][0-9])", proc.stdout, re.M)
    assert match, proc.stdout[-2000:] + proc.stderr
    return float(match[1])


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze missing: run tests/support/install_system_deps.sh")
def test_default_calendar_is_the_cron_default_minute_and_the_units_verify(tmp_path):
    units = rendered_units(tmp_path, minio_backup_verify_content=True,
                           minio_backup_metrics_file="/var/lib/prometheus/node-exporter/dream_backup.prom")
    # The role's per-host minute: the first 8 hex digits of md5(inventory_hostname), modulo 60.
    minute = int(hashlib.md5(b"vps1", usedforsecurity=False).hexdigest()[:8], 16) % 60
    wrapper = tmp_path / "bin" / "dream-backup.sh"
    service = units["dream-backup.service"].splitlines()
    assert f"OnCalendar=*-*-* 02:{minute:02d}:00" in units["dream-backup.timer"].splitlines()
    assert "RandomizedDelaySec=0" in units["dream-backup.timer"].splitlines()
    assert [line for line in service if line.startswith("ExecStart=")] == [
        f"ExecStart={wrapper}", f"ExecStart={wrapper} verify-content"]
    assert "StandardOutput=append:/var/log/minio-backup.cron.log" in service
    # Exactly what the program writes: its log and the drill logbook (not /var/log: systemd appends the cron
    # log), the lock's and the metrics file's directories, and the guard's state directory (without it a
    # backup could not keep its last listing).
    assert ("ReadWritePaths=-/var/log/minio-backup.log -/var/log/minio-restore-drill.log -/run/dream-backup"
            " -/var/lib/prometheus/node-exporter -/var/lib/dream-backup") in service
    assert exposure(tmp_path, "dream-backup.service", units["dream-backup.service"]) <= EXPOSURE_MAX
    assert not [line for line in service if line.startswith("OnFailure=")]
    verify(tmp_path, units)


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze missing: run tests/support/install_system_deps.sh")
@pytest.mark.parametrize(("host_vars", "calendar"), [
    ({"minio_backup_cron_schedule": "17 3 * * *"}, "*-*-* 03:17:00"),
    ({"minio_backup_cron_schedule": "@daily"}, "*-*-* 00:00:00"),
    ({"minio_backup_cron_schedule": "*/5 * * * *", "minio_backup_systemd_on_calendar": "Mon..Fri *-*-* 02:30:00"},
     "Mon..Fri *-*-* 02:30:00"),
])
def test_calendar_from_the_cron_schedule_or_the_inventory(tmp_path, host_vars, calendar):
    units = rendered_units(tmp_path, minio_backup_systemd_randomized_delay="15min",
                           minio_backup_systemd_on_failure="notify-failure@%n.service", **host_vars)
    timer = units["dream-backup.timer"].splitlines()
    assert f"OnCalendar={calendar}" in timer and "RandomizedDelaySec=15min" in timer and "Persistent=true" in timer
    assert "OnFailure=notify-failure@%n.service" in units["dream-backup.service"].splitlines()
    assert [line for line in units["dream-backup.service"].splitlines() if line.startswith("ExecStart=")] == [
        f"ExecStart={tmp_path / 'bin' / 'dream-backup.sh'}"]
    verify(tmp_path, units)


def failure_messages(proc) -> str:
    return " ".join(str(h.get("msg", "")) for p in json.loads(proc.stdout)["plays"] for t in p["tasks"]
                    for h in t["hosts"].values() if h.get("failed"))


def test_preflight_asks_for_a_calendar_when_the_cron_schedule_is_not_a_daily_time(tmp_path):
    proc = play(tmp_path, "preflight.yml", {"minio_backup_scheduler": "systemd",
                                            "minio_backup_cron_schedule": "*/5 * * * *"})
    assert proc.returncode != 0
    assert ("minio_backup_cron_schedule '*/5 * * * *' is not a plain daily time ('M H * * *') that the systemd "
            "timer could take over; with minio_backup_scheduler: systemd set minio_backup_systemd_on_calendar"
            ) in failure_messages(proc)


def test_preflight_refuses_an_unknown_scheduler(tmp_path):
    proc = play(tmp_path, "preflight.yml", {"minio_backup_scheduler": "anacron"})
    assert proc.returncode != 0
    assert "minio_backup_scheduler must be 'cron' or 'systemd', not 'anacron'" in failure_messages(proc)
