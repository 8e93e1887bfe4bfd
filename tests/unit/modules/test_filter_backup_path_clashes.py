"""backup_path_clashes: the provisioning preflight that refuses two hosts writing one target path from
different sources; tested as a function and through ansible (the plugin path in ansible.cfg)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

from tests.unit.conftest import REPO

spec = importlib.util.spec_from_file_location("dcs_filter_dream_backup", REPO / "filter_plugins" / "dream_backup.py")
plugin = importlib.util.module_from_spec(spec)
spec.loader.exec_module(plugin)
clashes = plugin.backup_path_clashes

FALLBACK = {"minio_backup_buckets": ["books", "apps"], "minio_backup_target_bucket": "dcs-backups"}


def host(source="http://minio-a:9000", target="https://offsite", **more):
    return {"minio_backup_source_endpoint": source, "minio_backup_target_endpoint": target, **more}


def test_hosts_with_their_own_prefix_do_not_clash():
    hostvars = {"vps1": host(minio_backup_target_prefix="vps1"),
                "vps2": host("http://minio-b:9000", minio_backup_target_prefix="vps2")}
    assert clashes(["vps1", "vps2"], hostvars, FALLBACK) == []


def test_same_path_from_different_sources_clashes_per_bucket_naming_the_hosts():
    hostvars = {"vps1": host(), "vps2": host("http://minio-b:9000")}
    assert clashes(["vps1", "vps2"], hostvars, FALLBACK) == [
        "https://offsite dcs-backups/apps (hosts vps1, vps2)",
        "https://offsite dcs-backups/books (hosts vps1, vps2)"]


def test_same_source_may_share_a_path():
    # Two hosts backing up the same MinIO write the same objects: no host loses anything.
    assert clashes(["vps1", "vps2"], {"vps1": host(), "vps2": host()}, FALLBACK) == []


def test_host_values_win_over_the_fallback():
    hostvars = {"vps1": host(minio_backup_buckets=["trash"]),
                "vps2": host("http://minio-b:9000", minio_backup_buckets=["books"], minio_backup_target_bucket="x")}
    assert clashes(["vps1", "vps2"], hostvars, FALLBACK) == []
    hostvars["vps2"]["minio_backup_buckets"] = ["trash"]
    hostvars["vps2"]["minio_backup_target_bucket"] = "dcs-backups"
    assert clashes(["vps1", "vps2"], hostvars, FALLBACK) == ["https://offsite dcs-backups/trash (hosts vps1, vps2)"]


def test_different_target_endpoints_never_clash():
    hostvars = {"vps1": host(), "vps2": host("http://minio-b:9000", "https://other-offsite")}
    assert clashes(["vps1", "vps2"], hostvars, FALLBACK) == []


def test_ansible_finds_the_filter_through_the_repository_configuration(tmp_path):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(json.dumps({"all": {"hosts": {
        "vps1": {"minio_backup_source_endpoint": "http://a", "minio_backup_target_endpoint": "https://o"},
        "vps2": {"minio_backup_source_endpoint": "http://b", "minio_backup_target_endpoint": "https://o",
                 "minio_backup_buckets": ["books"]}}}}))
    expression = ("{{ ['vps1', 'vps2'] | dream.backup.backup_path_clashes(hostvars, "
                  "{'minio_backup_buckets': ['books', 'apps'], 'minio_backup_target_bucket': 't'}) | to_json }}")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
           "ANSIBLE_PYTHON_INTERPRETER": sys.executable}
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible"), "vps1", "-i", str(inventory), "-c", "local",
                           "-m", "ansible.builtin.debug", "-a", f"msg={expression}"],
                          capture_output=True, text=True, check=False, cwd=REPO,
                          env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "https://o t/books (hosts vps1, vps2)" in proc.stdout
