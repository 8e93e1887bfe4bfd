"""backup_systemd_timer: the service and timer as written, systemd-analyze's verdict on them, refusals
that write nothing, idempotence, check and diff mode, removal."""

from __future__ import annotations

import shutil
import stat
import subprocess

import pytest

from tests.unit.conftest import tree_snapshot
from tests.unit.roles.test_minio_backup_scheduler import EXPOSURE_MAX, exposure

ANALYZE = shutil.which("systemd-analyze", path="/usr/bin:/bin")
pytestmark = pytest.mark.skipif(ANALYZE is None,
                                reason="systemd-analyze missing: run tests/support/install_system_deps.sh")


@pytest.fixture
def wrapper(tmp_path):
    """An executable at the wrapper's place: systemd-analyze verify refuses an ExecStart that is not."""
    path = tmp_path / "bin" / "dream-backup.sh"
    path.parent.mkdir()
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return str(path)


def args(tmp_path, wrapper, **overrides):
    units = tmp_path / "units"
    units.mkdir(exist_ok=True)
    base = {"commands": [[wrapper], [wrapper, "verify-content"]], "on_calendar": "*-*-* 02:17:00",
            "randomized_delay": "10min", "read_write_paths": ["/var/log", "/run/dream-backup"],
            "unit_dir": str(units)}
    base.update(overrides)
    return base


def test_service_and_timer_as_written(run_module, tmp_path, wrapper):
    result = run_module("backup_systemd_timer", args(tmp_path, wrapper, on_failure="notify-failure@%n.service",
                                                     read_write_paths=["/var/log", "/run/dream-backup",
                                                                       "/var/lib/prometheus/node-exporter"]))
    service = (tmp_path / "units" / "dream-backup.service").read_text()
    timer = (tmp_path / "units" / "dream-backup.timer").read_text()
    assert result["changed"] is True and result["verified"] is True, result
    service_lines = service.splitlines()
    assert service_lines[0].startswith("# Managed by Ansible")
    for line in ("Type=oneshot", f"ExecStart={wrapper}", f"ExecStart={wrapper} verify-content",
                 "StandardOutput=append:/var/log/minio-backup.cron.log",
                 "StandardError=append:/var/log/minio-backup.cron.log",
                 "Nice=10", "IOSchedulingClass=idle", "ProtectSystem=strict", "PrivateTmp=yes", "NoNewPrivileges=yes",
                 "ReadWritePaths=-/var/log -/run/dream-backup -/var/lib/prometheus/node-exporter",
                 "OnFailure=notify-failure@%n.service", "TimeoutStartSec=infinity"):
        assert line in service_lines, (line, service)
    # Both commands run in order, the second only after the first succeeded (oneshot semantics).
    assert service.index(f"ExecStart={wrapper}\n") < service.index(f"ExecStart={wrapper} verify-content\n")
    timer_lines = timer.splitlines()
    for line in ("OnCalendar=*-*-* 02:17:00", "Persistent=true", "RandomizedDelaySec=10min",
                 "WantedBy=timers.target"):
        assert line in timer_lines, (line, timer)
    for path in result["paths"]:
        st = (tmp_path / "units" / path.rsplit("/", 1)[1]).stat()
        assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o644, 0, 0)


# The sandbox as written (docs/systemd-sandbox.md): no capability, the system-service call filter, /run
# read-only too, home out of sight, private files by default, internet and local sockets only.
SANDBOX = ("CapabilityBoundingSet=", "AmbientCapabilities=", "NoNewPrivileges=yes", "SystemCallFilter=@system-service",
           "SystemCallArchitectures=native", "MemoryDenyWriteExecute=yes", "UMask=0077", "ProtectSystem=strict",
           "ReadOnlyPaths=/run", "ProtectHome=yes", "PrivateTmp=yes", "PrivateDevices=yes",
           "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6", "RestrictNamespaces=yes", "RestrictSUIDSGID=yes")


def test_the_service_is_sandboxed_to_an_exposure_of_at_most_3(run_module, tmp_path, wrapper):
    run_module("backup_systemd_timer", args(tmp_path, wrapper))
    service = (tmp_path / "units" / "dream-backup.service").read_text()
    for line in SANDBOX:
        assert line in service.splitlines(), (line, service)
    # Each setting once: a second CapabilityBoundingSet= line would add capabilities back.
    settings = [line.split("=", 1)[0] for line in service.splitlines() if "=" in line and not line.startswith("#")]
    assert sorted(s for s in set(settings) if settings.count(s) > 1) == ["ExecStart"], service
    assert exposure(tmp_path, "dream-backup.service", service) <= EXPOSURE_MAX
    # The measure tells a bare unit apart (it rates one without the sandbox far above the bar).
    bare = "".join(line + "\n" for line in service.splitlines()
                   if line.split("=", 1)[0] not in {s.split("=", 1)[0] for s in SANDBOX})
    assert exposure(tmp_path, "bare.service", bare) > 5.0


def test_systemd_analyze_accepts_the_written_units(run_module, tmp_path, wrapper):
    run_module("backup_systemd_timer", args(tmp_path, wrapper))
    units = [str(tmp_path / "units" / name) for name in ("dream-backup.service", "dream-backup.timer")]
    proc = subprocess.run([ANALYZE, "verify", "--man=no", *units], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout + proc.stderr == ""


def test_second_run_changes_nothing(run_module, tmp_path, wrapper):
    run_module("backup_systemd_timer", args(tmp_path, wrapper))
    assert run_module("backup_systemd_timer", args(tmp_path, wrapper))["changed"] is False


def test_without_verify_content_one_command(run_module, tmp_path, wrapper):
    run_module("backup_systemd_timer", args(tmp_path, wrapper, commands=[[wrapper]]))
    service = (tmp_path / "units" / "dream-backup.service").read_text()
    assert service.count("ExecStart=") == 1
    assert "OnFailure=" not in service


def test_words_keep_percent_dollar_and_blanks_literal(run_module, tmp_path, wrapper):
    run_module("backup_systemd_timer", args(tmp_path, wrapper, commands=[[wrapper, "--log-path", "/tmp/a b%n$HOME"]]))
    service = (tmp_path / "units" / "dream-backup.service").read_text()
    assert f'ExecStart={wrapper} --log-path "/tmp/a b%%n$$HOME"\n' in service


def test_check_mode_writes_nothing_and_diff_shows_the_units(run_module, tmp_path, wrapper):
    (tmp_path / "units").mkdir()
    before = tree_snapshot(tmp_path)
    result = run_module("backup_systemd_timer", args(tmp_path, wrapper), check=True, diff=True)
    assert result["changed"] is True
    assert tree_snapshot(tmp_path) == before
    assert "OnCalendar=*-*-* 02:17:00" in result["diff"][1]["after"]


def test_check_mode_on_a_fresh_host_skips_verify_of_a_program_not_installed_yet(run_module, tmp_path):
    result = run_module("backup_systemd_timer", args(tmp_path, "/nonexistent/dream-backup.sh"), check=True)
    assert result["changed"] is True and result["verified"] is False, result


@pytest.mark.parametrize(("overrides", "words"), [
    ({"on_calendar": "every night"}, "is not a systemd calendar expression"),
    ({"on_calendar": "*-*-* 02:99:00"}, "is not a systemd calendar expression"),
    ({"on_calendar": "daily\nExecStartPre=/bin/sh"}, "control"),
    ({"randomized_delay": "ten minutes"}, "is not a systemd time span"),
    ({"on_failure": "mail me"}, "is not a service or target unit name"),
    ({"log": "/var/log/a b.log"}, "may only contain"),
    ({"log": "var/log/x.log"}, "absolute"),
    ({"read_write_paths": ["/var/log/../etc"]}, "normalised"),
    ({"commands": [["dream-backup.sh"]]}, "must be an absolute path"),
    ({"commands": []}, "commands is required"),
    ({"description": "Backup %n"}, "specifier"),
    ({"nice": 40}, "between -20 and 19"),
])
def test_refusals_write_nothing(run_module, tmp_path, wrapper, overrides, words):
    (tmp_path / "units").mkdir()
    before = tree_snapshot(tmp_path)
    result = run_module("backup_systemd_timer", args(tmp_path, wrapper, **overrides))
    assert result.get("failed") is True, result
    assert words in result["msg"], result["msg"]
    assert tree_snapshot(tmp_path) == before


def test_systemd_analyze_verify_refusal_writes_nothing(run_module, tmp_path):
    (tmp_path / "units").mkdir()
    result = run_module("backup_systemd_timer", args(tmp_path, "/nonexistent/dream-backup.sh"))
    assert result.get("failed") is True
    assert "systemd-analyze verify refuses the units (nothing was written)" in result["msg"]
    assert "/nonexistent/dream-backup.sh" in result["msg"]
    assert list((tmp_path / "units").iterdir()) == []


def test_absent_removes_both_units_once(run_module, tmp_path, wrapper):
    run_module("backup_systemd_timer", args(tmp_path, wrapper))
    gone = run_module("backup_systemd_timer", {"state": "absent", "unit_dir": str(tmp_path / "units")})
    assert gone["changed"] is True
    assert list((tmp_path / "units").iterdir()) == []
    again = run_module("backup_systemd_timer", {"state": "absent", "unit_dir": str(tmp_path / "units")})
    assert again["changed"] is False
