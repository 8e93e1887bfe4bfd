"""backup_env: validation, quoting, idempotence, check mode, masked diff, atomicity."""

from __future__ import annotations

import json
import os
import stat
import subprocess

import pytest

from tests.support.program import PROGRAM as ZIPAPP
from tests.unit.conftest import tree_snapshot

SOURCE_SECRET = "src-SECRET-value/+@#-4e8a1"
TARGET_SECRET = "tgt-SECRET-value-9c2b7f"


def good_variables(**overrides):
    variables = {
        "MINIO_SOURCE_ENDPOINT": "https://minio.internal.example.com",
        "MINIO_SOURCE_ACCESS_KEY": "source-access-key",
        "MINIO_SOURCE_SECRET_KEY": SOURCE_SECRET,
        "BACKUP_TARGET_ENDPOINT": "https://s3.backup.example.com:9000",
        "BACKUP_TARGET_ACCESS_KEY": "backup-access-key",
        "BACKUP_TARGET_SECRET_KEY": TARGET_SECRET,
        "BACKUP_TARGET_BUCKET": "dream-central-storage-backups",
        "MINIO_BACKUP_BUCKETS": ["books", "apps", "trash"],
        "MINIO_BACKUP_LOG": "/var/log/minio-backup.log",
        "MC_PATH": "/usr/local/bin/mc",
    }
    variables.update(overrides)
    return {k: v for k, v in variables.items() if v is not None}


@pytest.fixture
def env_path(tmp_path):
    return tmp_path / "etc" / "dream-central-storage" / "backup.env"


def test_writes_runbook_file_with_modes(run_module, env_path):
    result = run_module("backup_env", {"path": str(env_path), "variables": good_variables()})
    assert result["changed"] is True
    text = env_path.read_text()
    assert 'MINIO_BACKUP_BUCKETS="books,apps,trash"\n' in text
    assert f'MINIO_SOURCE_SECRET_KEY="{SOURCE_SECRET}"\n' in text
    assert text.endswith("\n")
    assert stat.S_IMODE(env_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(env_path.parent.stat().st_mode) == 0o700
    assert (env_path.stat().st_uid, env_path.stat().st_gid) == (0, 0)
    names = [line.split("=")[0] for line in text.splitlines() if not line.startswith("#")]
    assert names[:3] == ["MINIO_SOURCE_ENDPOINT", "MINIO_SOURCE_ACCESS_KEY", "MINIO_SOURCE_SECRET_KEY"]


def test_second_run_is_unchanged(run_module, env_path):
    run_module("backup_env", {"path": str(env_path), "variables": good_variables()})
    again = run_module("backup_env", {"path": str(env_path), "variables": good_variables()})
    assert again["changed"] is False


def test_mode_drift_is_repaired(run_module, env_path):
    run_module("backup_env", {"path": str(env_path), "variables": good_variables()})
    env_path.chmod(0o644)
    result = run_module("backup_env", {"path": str(env_path), "variables": good_variables()})
    assert result["changed"] is True
    assert stat.S_IMODE(env_path.stat().st_mode) == 0o600


TRICKY = 'a"b\\c$(touch PWNED)`touch PWNED2`$HOME\'s ${IFS}; touch PWNED3 # 100% \u00e9\u20ac\u65e5end\\'


def test_values_are_quoted_so_bash_source_is_safe(run_module, env_path, tmp_path):
    variables = good_variables(BACKUP_TARGET_PREFIX="host-1", MINIO_SOURCE_ACCESS_KEY=TRICKY,
                               BACKUP_ENGINE="rclone", BACKUP_TARGET_SECRET_KEY=TRICKY + "-secret")
    run_module("backup_env", {"path": str(env_path), "variables": variables})
    out = subprocess.run(["bash", "-c", f'set -e; source "{env_path}"; printf %s "$MINIO_SOURCE_ACCESS_KEY"; '
                          'printf "\\n%s" "$BACKUP_TARGET_SECRET_KEY"'],
                         capture_output=True, text=True, check=True, cwd=tmp_path)
    assert out.stdout == f"{TRICKY}\n{TRICKY}-secret"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["etc"]


# Reads the env file with the program's own parser, from the zipapp the role installs.
PROGRAM_READS = """
import json, sys
sys.path.insert(0, sys.argv[1])
from dream_backup.config import read_env_file
print(json.dumps(read_env_file(sys.argv[2])))
"""


def test_program_reads_back_exactly_what_the_module_wrote(run_module, env_path, tmp_path):
    variables = good_variables(MINIO_SOURCE_ACCESS_KEY=TRICKY, BACKUP_ENGINE="rclone",
                               BACKUP_TARGET_SECRET_KEY=TRICKY + "-secret")
    run_module("backup_env", {"path": str(env_path), "variables": variables})
    proc = subprocess.run(["/usr/bin/python3", "-c", PROGRAM_READS, str(ZIPAPP), str(env_path)],
                          capture_output=True, text=True, check=True, cwd=tmp_path)
    read = json.loads(proc.stdout)
    assert read["MINIO_SOURCE_ACCESS_KEY"] == TRICKY
    assert read["BACKUP_TARGET_SECRET_KEY"] == TRICKY + "-secret"
    assert read["MINIO_BACKUP_BUCKETS"] == "books,apps,trash"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["etc"]


def test_variables_not_given_are_removed(run_module, env_path):
    run_module("backup_env", {"path": str(env_path),
                              "variables": good_variables(BACKUP_ENGINE="rclone")})
    assert "BACKUP_ENGINE" in env_path.read_text()
    result = run_module("backup_env", {"path": str(env_path), "variables": good_variables()})
    assert result["changed"] is True
    assert "BACKUP_ENGINE" not in env_path.read_text()


BAD_VALUES = [
    ("MINIO_SOURCE_ENDPOINT", "ftp://minio.example.com", "MINIO_SOURCE_ENDPOINT"),
    ("MINIO_SOURCE_ENDPOINT", "https://minio.example.com/path", "MINIO_SOURCE_ENDPOINT"),
    ("BACKUP_TARGET_ENDPOINT", "https://user:pw@s3.example.com", "BACKUP_TARGET_ENDPOINT"),
    ("BACKUP_TARGET_ENDPOINT", "https://s3.example.com?x=1", "BACKUP_TARGET_ENDPOINT"),
    ("BACKUP_TARGET_BUCKET", "Bad_Bucket", "BACKUP_TARGET_BUCKET"),
    ("BACKUP_TARGET_BUCKET", "192.168.1.1", "BACKUP_TARGET_BUCKET"),
    ("MINIO_BACKUP_BUCKETS", "books,,apps", "MINIO_BACKUP_BUCKETS"),
    ("MINIO_BACKUP_BUCKETS", "books,books", "MINIO_BACKUP_BUCKETS"),
    ("MINIO_BACKUP_BUCKETS", "books,UPPER", "MINIO_BACKUP_BUCKETS"),
    ("MINIO_BACKUP_LOG", "relative.log", "MINIO_BACKUP_LOG"),
    ("MC_PATH", "mc", "MC_PATH"),
    ("BACKUP_ENGINE", "restic", "BACKUP_ENGINE"),
    ("BACKUP_REMOVE", "maybe", "BACKUP_REMOVE"),
    ("BACKUP_REQUIRE_VERSIONING", "sometimes", "BACKUP_REQUIRE_VERSIONING"),
    ("BACKUP_TIMEOUT", "6 hours", "BACKUP_TIMEOUT"),
    ("BACKUP_TIMEOUT", "0", "BACKUP_TIMEOUT"),
    ("BACKUP_BANDWIDTH", "fast", "BACKUP_BANDWIDTH"),
    ("BACKUP_BANDWIDTH", "20", "BACKUP_BANDWIDTH"),
    ("BACKUP_BANDWIDTH", "512k bytes", "BACKUP_BANDWIDTH"),
    ("MINIO_SOURCE_ACCESS_KEY", "AK:ID", "MINIO_SOURCE_ACCESS_KEY"),
    ("BACKUP_CA_FILE", "ca.pem", "BACKUP_CA_FILE"),
    ("BACKUP_METRICS_FILE", "metrics.prom", "BACKUP_METRICS_FILE"),
    ("BACKUP_LOCK_FILE", "lock", "BACKUP_LOCK_FILE"),
    ("RESTORE_DRILL_LOG", "drill.log", "RESTORE_DRILL_LOG"),
    ("BACKUP_HEALTHCHECK_URL", "not a url", "BACKUP_HEALTHCHECK_URL"),
    ("BACKUP_TARGET_PREFIX", "/leading", "BACKUP_TARGET_PREFIX"),
    ("BACKUP_TARGET_PREFIX", "a/../b", "BACKUP_TARGET_PREFIX"),
    ("TRASH_RETENTION_DAYS", "0", "TRASH_RETENTION_DAYS"),
    ("MINIO_SOURCE_ACCESS_KEY", "", "MINIO_SOURCE_ACCESS_KEY"),
    ("MINIO_SOURCE_ACCESS_KEY", "line\nbreak", "MINIO_SOURCE_ACCESS_KEY"),
    ("BACKUP_TARGET_SECRETKEY", "typo", "BACKUP_TARGET_SECRETKEY"),
    ("MINIO_SOURCE_REGION", "eu west 1", "MINIO_SOURCE_REGION"),
    ("BACKUP_TARGET_REGION", "", "BACKUP_TARGET_REGION"),
    ("BACKUP_S3_PROVIDER", "minio", "BACKUP_S3_PROVIDER"),
    ("BACKUP_LOCK_STALE_AFTER", "7 hours", "BACKUP_LOCK_STALE_AFTER"),
    ("BACKUP_REHEARSAL_BUCKET", "Scratch_Bucket", "BACKUP_REHEARSAL_BUCKET"),
    ("BACKUP_RTO_BUDGET_HOURS", "0", "BACKUP_RTO_BUDGET_HOURS"),
    ("BACKUP_RTO_BUDGET_HOURS", "1.5", "BACKUP_RTO_BUDGET_HOURS"),
    ("BACKUP_GUARD", "*=25,trash=of", "BACKUP_GUARD"),
    ("BACKUP_GUARD_MIN_OBJECTS", "-5", "BACKUP_GUARD_MIN_OBJECTS"),
]

# The program reads the file with str.splitlines(), which also breaks at \r, \v, \f, \x1c-\x1e, \x85,
# U+2028 and U+2029: a value holding one would be written and then every run would exit 2. Every
# character str.isprintable() refuses is refused, in every variable, secrets included.
CONTROL_CHARACTERS = {"carriage return": "\r", "tab": "\t", "form feed": "\f", "vertical tab": "\v",
                      "line separator U+2028": "\u2028", "paragraph separator U+2029": "\u2029",
                      "next line U+0085": "\x85", "file separator": "\x1c", "NUL": "\0", "escape": "\x1b",
                      "zero width space": "\u200b"}
CONTROL_TARGETS = [("MINIO_SOURCE_SECRET_KEY", SOURCE_SECRET + "{}tail"), ("BACKUP_TARGET_SECRET_KEY",
                                                                          "{}" + TARGET_SECRET),
                   ("MINIO_SOURCE_ACCESS_KEY", "key{}"), ("MINIO_BACKUP_LOG", "/var/log/x{}.log"),
                   ("MC_PATH", "/usr/local/bin/mc{}"), ("BACKUP_TARGET_PREFIX", "host{}1"),
                   ("BACKUP_HEALTHCHECK_URL", "https://hc.example.com/ping/{}x"),
                   ("MINIO_SOURCE_ENDPOINT", "https://minio.example.com{}")]
BAD_VALUES += [pytest.param(name, template.format(char), name, id=f"{name}-{label}")
               for name, template in CONTROL_TARGETS for label, char in CONTROL_CHARACTERS.items()]


@pytest.mark.parametrize(("name", "value"), [("MINIO_SOURCE_REGION", "eu-west-3"), ("BACKUP_TARGET_REGION", "fr-par"),
                                             ("BACKUP_S3_PROVIDER", "Wasabi"), ("BACKUP_LOCK_STALE_AFTER", "8h"),
                                             ("BACKUP_REHEARSAL_BUCKET", "scratch-1"),
                                             ("BACKUP_RTO_BUDGET_HOURS", "48")])
def test_regions_provider_and_stale_lock_age_are_accepted(run_module, env_path, name, value):
    result = run_module("backup_env", {"path": str(env_path), "variables": good_variables(**{name: value})})
    assert not result.get("failed"), result.get("msg")
    assert f'{name}="{value}"' in env_path.read_text()


@pytest.mark.parametrize(("name", "value", "named"), BAD_VALUES)
def test_each_rule_rejects_with_named_field(run_module, env_path, name, value, named):
    result = run_module("backup_env", {"path": str(env_path), "variables": good_variables(**{name: value})})
    assert result["failed"] is True
    assert named in result["msg"]
    assert SOURCE_SECRET not in result["_raw"] and TARGET_SECRET not in result["_raw"]
    assert not env_path.exists()


def test_missing_runbook_variable_is_named(run_module, env_path):
    result = run_module("backup_env", {"path": str(env_path), "variables": good_variables(MC_PATH=None)})
    assert result["failed"] and "MC_PATH" in result["msg"]


def test_secret_with_colon_refused_for_mc_with_reason(run_module, env_path):
    secret = "abc:def-very-secret"
    result = run_module("backup_env", {"path": str(env_path),
                                       "variables": good_variables(BACKUP_TARGET_SECRET_KEY=secret)})
    assert result["failed"] and "BACKUP_TARGET_SECRET_KEY" in result["msg"] and "SESSION_TOKEN" in result["msg"]
    assert secret not in result["_raw"]
    ok = run_module("backup_env", {"path": str(env_path), "variables": good_variables(
        BACKUP_TARGET_SECRET_KEY=secret, BACKUP_ENGINE="rclone")})
    assert ok["changed"] is True


def test_bandwidth_needs_a_unit_and_names_the_accepted_forms(run_module, env_path):
    result = run_module("backup_env", {"path": str(env_path), "variables": good_variables(BACKUP_BANDWIDTH="20")})
    assert result["failed"] and "BACKUP_BANDWIDTH" in result["msg"]
    assert "KiB" in result["msg"] and "1000-based" in result["msg"]
    for value in ("20MiB", "512KiB", "1GiB", "20M", "512K", "20MiB/s"):
        ok = run_module("backup_env", {"path": str(env_path), "variables": good_variables(BACKUP_BANDWIDTH=value)})
        assert not ok.get("failed"), (value, ok.get("msg"))


def test_access_key_with_colon_refused_for_mc_only(run_module, env_path):
    access = "AKID:with-colon"
    result = run_module("backup_env", {"path": str(env_path),
                                       "variables": good_variables(BACKUP_TARGET_ACCESS_KEY=access)})
    assert result["failed"] and "BACKUP_TARGET_ACCESS_KEY" in result["msg"]
    assert access not in result["msg"]
    ok = run_module("backup_env", {"path": str(env_path), "variables": good_variables(
        BACKUP_TARGET_ACCESS_KEY=access, BACKUP_ENGINE="rclone")})
    assert ok["changed"] is True


def test_check_mode_changes_nothing_but_reports(run_module, env_path, tmp_path):
    before = tree_snapshot(tmp_path)
    result = run_module("backup_env", {"path": str(env_path), "variables": good_variables()}, check=True)
    assert result["changed"] is True
    assert tree_snapshot(tmp_path) == before
    run_module("backup_env", {"path": str(env_path), "variables": good_variables()})
    before = tree_snapshot(tmp_path)
    result = run_module("backup_env", {"path": str(env_path),
                                       "variables": good_variables(BACKUP_ENGINE="rclone")}, check=True)
    assert result["changed"] is True
    assert tree_snapshot(tmp_path) == before


def test_diff_masks_secrets_and_shows_that_one_changed(run_module, env_path):
    run_module("backup_env", {"path": str(env_path), "variables": good_variables()})
    new_secret = "rotated-SECRET-31f0a"
    result = run_module("backup_env", {"path": str(env_path), "variables": good_variables(
        BACKUP_TARGET_SECRET_KEY=new_secret, BACKUP_ENGINE="rclone")}, diff=True)
    diff = result["diff"]
    assert 'BACKUP_ENGINE="rclone"' in diff["after"] and "BACKUP_ENGINE" not in diff["before"]
    assert 'BACKUP_TARGET_SECRET_KEY="******** (changed)"' in diff["after"]
    assert 'MINIO_SOURCE_SECRET_KEY="********"' in diff["after"]
    for secret in (SOURCE_SECRET, TARGET_SECRET, new_secret):
        assert secret not in result["_raw"]


def test_the_healthcheck_url_is_a_secret_in_diff_result_and_invocation(run_module, env_path):
    """Its token lets anyone ping success for the host: like the keys, never shown, only 'changed'."""
    old, new = "https://hc-ping.com/0b5e-old-token", "https://hc-ping.com/7f3a-new-token"
    run_module("backup_env", {"path": str(env_path), "variables": good_variables(BACKUP_HEALTHCHECK_URL=old)})
    result = run_module("backup_env", {"path": str(env_path),
                                       "variables": good_variables(BACKUP_HEALTHCHECK_URL=new)}, diff=True)
    assert result["changed"]
    assert 'BACKUP_HEALTHCHECK_URL="******** (changed)"' in result["diff"]["after"]
    assert result["variables"]["BACKUP_HEALTHCHECK_URL"] == "********"
    for token in ("0b5e-old-token", "7f3a-new-token"):
        assert token not in result["_raw"]
    assert f'BACKUP_HEALTHCHECK_URL="{new}"' in env_path.read_text()


def test_failure_mid_write_leaves_previous_file(run_module, env_path, monkeypatch):
    run_module("backup_env", {"path": str(env_path), "variables": good_variables()})
    previous = env_path.read_bytes()

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        run_module("backup_env", {"path": str(env_path), "variables": good_variables(BACKUP_ENGINE="rclone")})
    monkeypatch.undo()
    assert env_path.read_bytes() == previous
    assert sorted(p.name for p in env_path.parent.iterdir()) == ["backup.env"]


PROGRAM_LOADS = """
import json, sys
sys.path.insert(0, sys.argv[1])
from dream_backup.config import load
from dream_backup.errors import ConfigError
try:
    load(sys.argv[2], environ=json.loads(sys.argv[3]))
except ConfigError as exc:
    print(exc)
    sys.exit(2)
"""


@pytest.mark.parametrize("char", ["\t", "\u2028", "\x1b", "\u200b"], ids=["tab", "U+2028", "escape", "ZWSP"])
def test_program_refuses_what_the_module_refuses(run_module, env_path, char):
    # The program validates with the same rules (its envspec is this module_utils file): a secret with a
    # control character that reaches it through the process environment is refused, named, not shown.
    run_module("backup_env", {"path": str(env_path), "variables": good_variables()})
    secret = TARGET_SECRET + char + "rest"
    proc = subprocess.run(["/usr/bin/python3", "-c", PROGRAM_LOADS, str(ZIPAPP), str(env_path),
                           json.dumps({"BACKUP_TARGET_SECRET_KEY": secret})],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "BACKUP_TARGET_SECRET_KEY" in proc.stdout and "non-printable" in proc.stdout
    assert TARGET_SECRET not in proc.stdout + proc.stderr
