"""The env file's rules (envspec.py, shared with module_utils/dcs_backup_env.py): every variable's kind and
its validation, messages that never show a secret, and a file format that reads back what was written,
as the program and a POSIX shell read it."""

from __future__ import annotations

import subprocess

import pytest

from dream_backup import envspec

SECRET = 'p"a\\s$s`w o\'rd/+=%41'
REQUIRED = {
    "MINIO_SOURCE_ENDPOINT": "http://minio.internal:9000", "MINIO_SOURCE_ACCESS_KEY": "source-access",
    "MINIO_SOURCE_SECRET_KEY": "source-secret", "BACKUP_TARGET_ENDPOINT": "https://s3.offsite.example",
    "BACKUP_TARGET_ACCESS_KEY": "target-access", "BACKUP_TARGET_SECRET_KEY": "target-secret",
    "BACKUP_TARGET_BUCKET": "dcs-backup", "MINIO_BACKUP_BUCKETS": "books,trash",
    "MINIO_BACKUP_LOG": "/var/log/dream-backup.log", "MC_PATH": "/usr/local/bin/mc",
}


def test_the_runbooks_ten_variables_come_first_and_every_secret_is_known():
    assert tuple(envspec.KINDS)[:10] == envspec.RUNBOOK_VARIABLES == tuple(REQUIRED)
    assert {"MINIO_SOURCE_SECRET_KEY", "BACKUP_TARGET_SECRET_KEY",
            "BACKUP_REHEARSAL_SECRET_KEY"} <= envspec.SECRET_VARIABLES


def test_a_complete_set_validates_and_unknown_or_missing_variables_are_named():
    assert envspec.validate(REQUIRED) == []
    problems = envspec.validate({k: v for k, v in REQUIRED.items() if k != "MC_PATH"} | {"BACKUP_TYPO": "x"})
    assert problems[0].startswith("BACKUP_TYPO: unknown variable (known: MINIO_SOURCE_ENDPOINT, ")
    assert problems[1:] == ["MC_PATH: required by the runbook but missing"]


@pytest.mark.parametrize(("name", "value"), [
    ("MINIO_SOURCE_ENDPOINT", "ftp://host"), ("MINIO_SOURCE_ENDPOINT", "http://user:pw@host"),
    ("MINIO_SOURCE_ENDPOINT", "http://host/path"), ("MINIO_SOURCE_ENDPOINT", "http://host:99999"),
    ("BACKUP_TARGET_BUCKET", "UPPER"), ("BACKUP_TARGET_BUCKET", "a..b"), ("BACKUP_TARGET_BUCKET", "10.0.0.1"),
    ("MINIO_BACKUP_BUCKETS", "books,,trash"), ("MINIO_BACKUP_BUCKETS", "books,books"),
    ("MINIO_BACKUP_LOG", "relative.log"), ("BACKUP_ENGINE", "s3cmd"), ("BACKUP_TARGET_PREFIX", "a//b"),
    ("BACKUP_TARGET_PREFIX", "../x"), ("BACKUP_REMOVE", "maybe"), ("BACKUP_TIMEOUT", "0"),
    ("BACKUP_TIMEOUT", "5w"), ("BACKUP_BANDWIDTH", "100"), ("BACKUP_BANDWIDTH", "0.1B"),
    ("BACKUP_S3_PROVIDER", "minio"), ("BACKUP_GUARD", "books=101"), ("BACKUP_GUARD_MIN_OBJECTS", "-1"),
    ("BACKUP_VERIFY_SLICES", "0"), ("MINIO_SOURCE_REGION", "us east"), ("BACKUP_HEALTHCHECK_URL", "hc.example"),
])
def test_bad_values_are_refused(name, value):
    assert envspec.value_error(name, value) is not None


@pytest.mark.parametrize(("name", "value"), [
    ("BACKUP_TARGET_ENDPOINT", "https://s3.example:8443/"), ("BACKUP_TARGET_PREFIX", "host-1/minio"),
    ("BACKUP_REMOVE", "Yes"), ("BACKUP_TIMEOUT", "1.5h"), ("BACKUP_BANDWIDTH", "20M/s"),
    ("BACKUP_BANDWIDTH", ""), ("BACKUP_HEALTHCHECK_URL", "https://hc.example/ping/uuid"),
    ("BACKUP_LOCK_STALE_AFTER", ""), ("BACKUP_CA_FILE", ""), ("BACKUP_REHEARSAL_SECRET_KEY", ""),
])
def test_good_values_pass(name, value):
    assert envspec.value_error(name, value) is None


@pytest.mark.parametrize("value", ["a\nb", "a\rb", "a\tb", "a\x00b", "a\u2028b", "a\x85b"])
def test_a_value_that_would_break_the_line_is_refused_without_showing_it(value):
    reason = envspec.value_error("BACKUP_TARGET_SECRET_KEY", value)
    assert reason.startswith("must not contain control or other non-printable characters")
    assert value not in reason


def test_a_colon_in_credentials_is_refused_for_mc_only():
    assert "SECRET:SESSION_TOKEN" in envspec.value_error("BACKUP_TARGET_SECRET_KEY", "se:cret", "mc")
    assert "end of the access key" in envspec.value_error("BACKUP_TARGET_ACCESS_KEY", "ac:cess", "mc")
    assert envspec.value_error("BACKUP_TARGET_SECRET_KEY", "se:cret", "rclone") is None
    problems = envspec.validate(REQUIRED | {"BACKUP_TARGET_SECRET_KEY": "se:cret"})
    assert problems == ["BACKUP_TARGET_SECRET_KEY: contains ':', which mc reads as SECRET:SESSION_TOKEN in "
                        "MC_HOST_*; rotate the secret or use BACKUP_ENGINE=rclone"]
    assert "se:cret" not in problems[0]


@pytest.mark.parametrize(("value", "rate"), [("1B", 1), ("1.5M", 1_500_000), ("512KiB", 524_288), ("20m/s", 20_000_000),
                                             ("1GiB", 2**30), ("100", None), ("fast", None)])
def test_bandwidth_in_bytes_per_second(value, rate):
    assert envspec.bandwidth_bytes(value) == rate


def test_rendered_file_reads_back_in_the_program_and_in_a_shell(tmp_path):
    variables = REQUIRED | {"BACKUP_TARGET_SECRET_KEY": SECRET}
    text = envspec.render(variables, "Managed by Ansible\n\nDo not edit")
    assert text.startswith("# Managed by Ansible\n#\n# Do not edit\nMINIO_SOURCE_ENDPOINT=")
    assert envspec.parse(text) == variables
    path = tmp_path / "backup.env"
    path.write_text(text)
    shell = subprocess.run(["sh", "-c", '. "$1"; printf %s "$BACKUP_TARGET_SECRET_KEY"', "sh", str(path)],
                           capture_output=True, text=True, check=True)
    assert shell.stdout == SECRET


def test_parse_reads_bare_and_exported_values_and_skips_what_it_cannot_read():
    text = "# comment\nexport A=1\nB=\nC=two words\nD='single'\nE=\"x\\\"y\"\n  \nnot a line\n"
    assert envspec.parse(text) == {"A": "1", "B": "", "E": 'x"y'}


def test_masked_hides_only_secrets():
    shown = envspec.masked(REQUIRED)
    assert shown["BACKUP_TARGET_SECRET_KEY"] == shown["MINIO_SOURCE_SECRET_KEY"] == envspec.MASK
    assert shown["BACKUP_TARGET_ACCESS_KEY"] == "target-access"
