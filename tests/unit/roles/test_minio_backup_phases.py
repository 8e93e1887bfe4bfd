"""The minio_backup role through ansible-playbook: one tag per phase (so `--tags minio_backup_config`
pushes only the env file and the directories it names), and the preflight that refuses two hosts
writing one target path from different sources."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.unit.conftest import REPO
from tests.unit.roles.role_play import BIN, ansible_env, include_tasks, run_play

PHASES = {"packages": ("Packages |", "MinIO client |"), "program": ("Program |",), "config": ("Config |", "Lock |"),
          "logs": ("Logs |",), "cron": ("Cron |", "Systemd |"),
          "monitoring": ("Node exporter |",)}


def listed_tasks(tmp_path, *args) -> list[str]:
    proc = subprocess.run([str(BIN / "ansible-playbook"), "--list-tasks", *args, "playbooks/site.yml"],
                          capture_output=True, text=True, check=False, cwd=REPO, env=ansible_env(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    play = proc.stdout.split("Provision MinIO backup hosts", 1)[1]
    return [m.group(1) for m in re.finditer(r"^\s+dream\.backup\.minio_backup : (.+?)\tTAGS", play, re.MULTILINE)]


# Each phase's tag is the role's name and the phase's (minio_backup_config); the short tags of earlier
# releases select the same tasks until they are retired (docs/contract.md). Tag -> its phase in PHASES.
TAGS = {**{f"minio_backup_{phase}": phase for phase in PHASES if phase != "cron"},
        "minio_backup_scheduler": "cron", **{phase: phase for phase in PHASES}, "scheduler": "cron"}


@pytest.mark.parametrize("tag", sorted(TAGS))
def test_a_phase_tag_selects_that_phase_after_the_preflight(tmp_path, tag):
    phase = TAGS[tag]
    tasks = [t for t in listed_tasks(tmp_path, "--tags", tag) if not t.startswith("Validating arguments")]
    checks = [t for t in tasks if t.startswith("Preflight |")]
    work = [t for t in tasks if not t.startswith("Preflight |")]
    assert checks and work, tasks
    assert all(t.startswith(PHASES[phase]) for t in work), work


def test_config_tag_leaves_out_every_task_outside_the_env_file_phase(tmp_path):
    everything = listed_tasks(tmp_path)
    config = listed_tasks(tmp_path, "--tags", "minio_backup_config")
    left_out = set(everything) - set(config)
    assert any(t.startswith("Program |") for t in left_out) and any(t.startswith("Cron |") for t in left_out)
    assert "Config | env file with the runbook's variables" in config
    assert not [t for t in config if t.startswith(("Packages |", "MinIO client |", "Program |", "Logs |", "Cron |"))]


def test_every_task_of_the_role_belongs_to_a_phase(tmp_path):
    prefixes = ("Preflight |", "Validating arguments", *(p for ps in PHASES.values() for p in ps))
    assert all(t.startswith(prefixes) for t in listed_tasks(tmp_path)), listed_tasks(tmp_path)


def run_preflight(tmp_path, hosts: dict) -> subprocess.CompletedProcess:
    common = {"ansible_connection": "local", "minio_backup_source_access_key": "sa",
              "minio_backup_source_secret_key": "ss", "minio_backup_target_access_key": "ta",
              "minio_backup_target_secret_key": "ts", "minio_backup_target_endpoint": "https://offsite.example"}
    return run_play(tmp_path, {"all": {"vars": common, "hosts": hosts}},
                    {"gather_facts": True, "tasks": [include_tasks("minio_backup", "preflight.yml")]})


def test_preflight_refuses_two_sources_writing_one_path_and_names_them(tmp_path):
    proc = run_preflight(tmp_path, {"vps1": {"minio_backup_source_endpoint": "http://minio-a:9000"},
                                    "vps2": {"minio_backup_source_endpoint": "http://minio-b:9000",
                                             "minio_backup_buckets": ["books"]}})
    assert proc.returncode != 0
    assert ("These target paths would be written by hosts with different sources (each would overwrite the "
            "other's backup): https://offsite.example dream-central-storage-backups/books (hosts vps1, vps2). "
            "Give each host its own minio_backup_target_prefix.") in proc.stdout


def test_preflight_passes_hosts_with_their_own_prefix(tmp_path):
    proc = run_preflight(tmp_path, {
        "vps1": {"minio_backup_source_endpoint": "http://minio-a:9000", "minio_backup_target_prefix": "vps1"},
        "vps2": {"minio_backup_source_endpoint": "http://minio-b:9000", "minio_backup_target_prefix": "vps2"}})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no two hosts write one target path" in proc.stdout


@pytest.mark.parametrize("log", ["/var/log/a.log /etc/shadow", "/var/log/a.log\n/etc/shadow {\n postrotate",
                                 "relative.log", "/var/log/{a,b}.log", "/var/log/../../etc/shadow", "/var/log/*.log"])
def test_preflight_refuses_a_log_path_logrotate_would_read_as_more_than_one_path(tmp_path, log):
    proc = run_preflight(tmp_path, {"vps1": {"minio_backup_source_endpoint": "http://minio-a:9000",
                                             "minio_backup_log": log}})
    assert proc.returncode != 0
    assert "must be one absolute path of printable" in proc.stdout, proc.stdout
    assert not any(line.lstrip().startswith("postrotate") for line in proc.stdout.splitlines())  # shown escaped


def test_preflight_accepts_ordinary_log_paths(tmp_path):
    proc = run_preflight(tmp_path, {"vps1": {"minio_backup_source_endpoint": "http://minio-a:9000",
                                             "minio_backup_log": "/var/log/dream/minio-backup_1.log"}})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "every log path is one absolute path" in proc.stdout
