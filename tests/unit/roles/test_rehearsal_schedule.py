"""The minio_backup role's optional monthly restore rehearsal, through ansible-playbook on the controller in
check mode with --diff (nothing is installed here): the cron line or the systemd units it renders for each
scheduler (the units as systemd-analyze verify judges them), nothing when it is off, and the preflight's
refusals."""

from __future__ import annotations

import json

import pytest

from tests.unit.roles.test_minio_backup_scheduler import ANALYZE, EXPOSURE_MAX, exposure, failure_messages, play, verify

CRON_TASK = "dream.backup.minio_backup : Cron | monthly restore rehearsal job in /etc/cron.d"
UNITS_TASK = "dream.backup.minio_backup : Systemd | rehearsal - dream-backup-rehearsal.service and .timer"


def rendered(tmp_path, **host_vars) -> dict[str, dict]:
    """Per task name, the host's result of the role's rehearsal_schedule.yml for these variables."""
    wrapper = tmp_path / "bin" / "dream-backup.sh"
    wrapper.parent.mkdir()
    wrapper.write_text("#!/bin/sh\nexit 0\n")
    wrapper.chmod(0o755)
    units = tmp_path / "units"
    units.mkdir()
    host_vars = dict({"minio_backup_bin_dir": str(wrapper.parent), "minio_backup_buckets": ["books", "apps"]},
                     **host_vars)
    proc = play(tmp_path, "rehearsal_schedule.yml", host_vars, "--check", "--diff",
                "-e", json.dumps({"_minio_backup_systemd_unit_dir": str(units)}))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    assert list(units.iterdir()) == []
    return {t["task"]["name"]: t["hosts"]["vps1"] for p in json.loads(proc.stdout)["plays"] for t in p["tasks"]}


def test_monthly_cron_job_rehearses_every_bucket_in_order(tmp_path):
    results = rendered(tmp_path, minio_backup_rehearsal_monthly=True, minio_backup_rehearsal_day=3,
                       minio_backup_rehearsal_time="05:07")
    cron = results[CRON_TASK]
    assert cron["changed"] is True
    text = cron["diff"]["after"] if isinstance(cron["diff"], dict) else cron["diff"][0]["after"]
    wrapper = tmp_path / "bin" / "dream-backup.sh"
    assert (f"7 5 3 * * root {{ {wrapper} rehearse --bucket books && {wrapper} rehearse --bucket apps; }} "
            ">> /var/log/minio-backup.cron.log 2>&1") in text
    assert results[UNITS_TASK].get("skipped") is True


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze missing: run tests/support/install_system_deps.sh")
def test_monthly_systemd_timer_and_service_verify(tmp_path):
    results = rendered(tmp_path, minio_backup_rehearsal_monthly=True, minio_backup_scheduler="systemd",
                       minio_backup_rehearsal_day=15, minio_backup_rehearsal_time="04:45")
    result = results[UNITS_TASK]
    assert result["changed"] is True and result["verified"] is True, result
    units = {d["after_header"].rsplit("/", 1)[1]: d["after"] for d in result["diff"]}
    assert sorted(units) == ["dream-backup-rehearsal.service", "dream-backup-rehearsal.timer"]
    assert "OnCalendar=*-*-15 04:45:00" in units["dream-backup-rehearsal.timer"].splitlines()
    wrapper = tmp_path / "bin" / "dream-backup.sh"
    assert [line for line in units["dream-backup-rehearsal.service"].splitlines() if line.startswith("ExecStart=")] \
        == [f"ExecStart={wrapper} rehearse --bucket books", f"ExecStart={wrapper} rehearse --bucket apps"]
    # The cron job is absent under systemd (and was never there: nothing to change).
    assert results[CRON_TASK]["changed"] is False
    verify(tmp_path, units)
    # The rehearsal is the same program, as root with the production keys: the same sandbox.
    assert exposure(tmp_path, "dream-backup-rehearsal.service", units["dream-backup-rehearsal.service"]) <= EXPOSURE_MAX


def test_off_by_default_installs_nothing(tmp_path):
    results = rendered(tmp_path)
    assert results[CRON_TASK]["changed"] is False
    assert results[UNITS_TASK].get("skipped") is True


@pytest.mark.parametrize(("host_vars", "named"), [
    ({"minio_backup_rehearsal_time": "4:45pm"}, "minio_backup_rehearsal_time HH:MM (got '4:45pm')"),
    ({"minio_backup_rehearsal_day": 31}, "minio_backup_rehearsal_day a day from 1 to 28"),
    ({"minio_backup_rehearsal_bucket": "books"}, "must be a valid bucket name that is not one of minio_backup_buckets"),
    ({"minio_backup_rehearsal_monthly": True}, "minio_backup_rehearsal_monthly needs them"),
    ({"minio_backup_rehearsal_access_key": "REHEARSAL"}, "must be set together"),
])
def test_preflight_refuses_a_bad_rehearsal_setting(tmp_path, host_vars, named):
    proc = play(tmp_path, "preflight.yml", host_vars)
    assert proc.returncode != 0
    assert named in failure_messages(proc)
