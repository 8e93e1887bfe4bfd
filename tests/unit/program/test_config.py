"""Configuration: flags > process environment > env file > defaults; every value validated with a
message that names the variable and never shows a secret; the env file read without a shell."""

from __future__ import annotations

import pytest

from dream_backup import config, envspec
from dream_backup.errors import EXIT_REFUSED, ConfigError

SOURCE_SECRET = "s0urce-Secret/with+chars"
TARGET_SECRET = "t4rget-Secret=value"
REQUIRED = {
    "MINIO_SOURCE_ENDPOINT": "http://minio.internal:9000",
    "MINIO_SOURCE_ACCESS_KEY": "source-access",
    "MINIO_SOURCE_SECRET_KEY": SOURCE_SECRET,
    "BACKUP_TARGET_ENDPOINT": "https://s3.offsite.example/",
    "BACKUP_TARGET_ACCESS_KEY": "target-access",
    "BACKUP_TARGET_SECRET_KEY": TARGET_SECRET,
    "BACKUP_TARGET_BUCKET": "dcs-backup",
    "MINIO_BACKUP_BUCKETS": "books, trash",
}


@pytest.fixture
def env_file(tmp_path):
    """Writes an env file of the required variables plus ``extra`` (as the Ansible module renders it)."""
    def write(extra=None, text=None):
        path = tmp_path / "backup.env"
        path.write_text(text if text is not None else envspec.render(REQUIRED | (extra or {}), "test"),
                        encoding="utf-8")
        return str(path)
    return write


def load(path, environ=None, overrides=None):
    return config.load(path, environ=environ or {}, overrides=overrides)


def refusal(path, environ=None, overrides=None) -> str:
    with pytest.raises(ConfigError) as raised:
        load(path, environ, overrides)
    assert raised.value.exit_code == EXIT_REFUSED
    return str(raised.value)


# --- layers -------------------------------------------------------------------------------------

def test_defaults_fill_everything_the_file_does_not_set(env_file):
    cfg = load(env_file())
    assert cfg.source.url == "http://minio.internal:9000"
    assert cfg.target.url == "https://s3.offsite.example"  # trailing '/' dropped
    assert cfg.buckets == ("books", "trash")
    assert (cfg.engine, cfg.mc_path, cfg.rclone_path) == ("mc", "/usr/local/bin/mc", "/usr/bin/rclone")
    assert cfg.log_path == "/var/log/minio-backup.log"
    assert cfg.remove is False and cfg.require_versioning is True
    assert cfg.timeout == 6 * 3600 and cfg.lock_stale_after == 7 * 3600
    assert cfg.bandwidth == 0 and cfg.metrics_file == "" and cfg.healthcheck_url == ""
    assert cfg.trash_retention_days == 7
    assert (cfg.source.region, cfg.target.region, cfg.s3_provider) == ("us-east-1", "us-east-1", "Minio")
    assert cfg.lock_file == "/run/dream-backup/dream-backup.lock"
    assert cfg.drill_log == "/var/log/minio-restore-drill.log"


def test_file_beats_defaults_environment_beats_file_flags_beat_environment(env_file):
    path = env_file({"BACKUP_TIMEOUT": "2h", "MINIO_BACKUP_LOG": "/var/log/from-file.log",
                     "TRASH_RETENTION_DAYS": "30"})
    assert load(path).timeout == 7200
    environ = {"BACKUP_TIMEOUT": "30m", "MINIO_BACKUP_LOG": "/var/log/from-env.log"}
    cfg = load(path, environ)
    assert cfg.timeout == 1800 and cfg.log_path == "/var/log/from-env.log"
    assert cfg.trash_retention_days == 30  # the environment does not set it: the file's value stays
    cfg = load(path, environ, overrides={"MINIO_BACKUP_LOG": "/var/log/from-flag.log"})
    assert cfg.log_path == "/var/log/from-flag.log"


def test_a_flag_not_given_leaves_the_lower_layers_alone(env_file):
    cfg = load(env_file(), {"MINIO_BACKUP_LOG": "/var/log/from-env.log"}, overrides={"MINIO_BACKUP_LOG": None})
    assert cfg.log_path == "/var/log/from-env.log"


def test_the_environment_alone_is_a_configuration_and_its_other_variables_are_ignored():
    environ = REQUIRED | {"PATH": "/usr/bin", "HOME": "/root", "BACKUP_ENGINE": "rclone"}
    cfg = config.load(None, environ=environ)
    assert cfg.engine == "rclone" and cfg.env_file == ""


def test_derived_values(env_file):
    cfg = load(env_file({"BACKUP_TIMEOUT": "90m", "BACKUP_BANDWIDTH": "1.5M", "BACKUP_REMOVE": "yes",
                         "BACKUP_REQUIRE_VERSIONING": "off", "BACKUP_TARGET_PREFIX": "vps1/minio"}))
    assert cfg.timeout == 5400 and cfg.lock_stale_after == 5400 + 3600
    assert cfg.bandwidth == 1_500_000
    assert cfg.remove is True and cfg.require_versioning is False
    assert cfg.backup_path("books") == "vps1/minio/books"
    assert cfg.backup_path("books", "/book-001/") == "vps1/minio/books/book-001"
    assert load(env_file()).backup_path("books", "book-001") == "books/book-001"
    assert load(env_file({"BACKUP_BANDWIDTH": "512KiB"})).bandwidth == 512 * 1024
    assert load(env_file({"BACKUP_LOCK_STALE_AFTER": "1d"})).lock_stale_after == 86400


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("90s", 90), ("30m", 1800), ("6h", 21600),
                                               ("1d", 86400), ("1.5h", 5400)])
def test_parse_duration(text, seconds):
    assert config.parse_duration(text) == seconds


# --- validation ---------------------------------------------------------------------------------

def test_every_missing_required_variable_is_named_with_the_file(env_file):
    values = {k: v for k, v in REQUIRED.items() if k not in ("BACKUP_TARGET_BUCKET", "MINIO_SOURCE_SECRET_KEY")}
    path = env_file(text=envspec.render(values, "test"))
    message = refusal(path)
    assert message == f"missing required variable MINIO_SOURCE_SECRET_KEY, BACKUP_TARGET_BUCKET in {path}"


def test_an_empty_required_value_is_missing(env_file):
    assert "missing required variable MINIO_BACKUP_BUCKETS" in refusal(env_file({"MINIO_BACKUP_BUCKETS": ""}))


@pytest.mark.parametrize(("name", "value", "reason"), [
    ("MINIO_SOURCE_ENDPOINT", "ftp://minio.internal", "must be an http:// or https:// URL with a host"),
    ("MINIO_SOURCE_ENDPOINT", "minio.internal:9000", "must be an http:// or https:// URL with a host"),
    ("BACKUP_TARGET_ENDPOINT", "https://user:pw@s3.example", "must not contain credentials"),
    ("BACKUP_TARGET_ENDPOINT", "https://s3.example/bucket", "must have no path, query or fragment"),
    ("BACKUP_TARGET_ENDPOINT", "https://s3.example:99999", "is not a valid URL"),
    ("MINIO_SOURCE_ACCESS_KEY", "acc:ess", "contains ':', which mc reads as the end of the access key"),
    ("BACKUP_TARGET_BUCKET", "Backup_Bucket", "'Backup_Bucket' must be 3-63 characters"),
    ("BACKUP_TARGET_BUCKET", "dcs..backup", "must not contain '..', '.-' or '-.'"),
    ("BACKUP_TARGET_BUCKET", "192.168.1.10", "must not look like an IP address"),
    ("MINIO_BACKUP_BUCKETS", "books,,trash", "without empty entries"),
    ("MINIO_BACKUP_BUCKETS", "books,trash,books", "lists a bucket more than once"),
    ("MINIO_BACKUP_BUCKETS", "books,Trash", "entry 'Trash' must be 3-63 characters"),
    ("MINIO_BACKUP_LOG", "minio-backup.log", "must be an absolute path"),
    ("MC_PATH", "mc", "must be an absolute path"),
    ("RCLONE_PATH", "bin/rclone", "must be an absolute path"),
    ("BACKUP_LOCK_FILE", "dream.lock", "must be an absolute path"),
    ("RESTORE_DRILL_LOG", "drill.log", "must be an absolute path"),
    ("BACKUP_CA_FILE", "ca.pem", "must be an absolute path"),
    ("BACKUP_METRICS_FILE", "backup.prom", "must be an absolute path"),
    ("BACKUP_ENGINE", "restic", "must be 'mc' or 'rclone'"),
    ("BACKUP_TARGET_PREFIX", "/vps1", "must be path segments"),
    ("BACKUP_TARGET_PREFIX", "vps1/", "must be path segments"),
    ("BACKUP_TARGET_PREFIX", "vps1//minio", "must be path segments"),
    ("BACKUP_TARGET_PREFIX", "vps1/../minio", "must be path segments"),
    ("BACKUP_TARGET_PREFIX", "vps 1", "must be path segments"),
    ("BACKUP_REMOVE", "maybe", "must be true or false"),
    ("BACKUP_REQUIRE_VERSIONING", "enabled", "must be true or false"),
    ("BACKUP_TIMEOUT", "0", "must be a positive duration"),
    ("BACKUP_TIMEOUT", "6 hours", "must be a positive duration"),
    ("BACKUP_TIMEOUT", "-1h", "must be a positive duration"),
    ("BACKUP_LOCK_STALE_AFTER", "soon", "must be a positive duration"),
    ("BACKUP_BANDWIDTH", "100", "a bare number is ambiguous"),
    ("BACKUP_BANDWIDTH", "20 parsecs", "a bare number is ambiguous"),
    ("BACKUP_BANDWIDTH", "0B", "must be at least 1 byte per second"),
    ("BACKUP_HEALTHCHECK_URL", "ftp://hc.example/ping", "must be an http:// or https:// URL with a host"),
    ("TRASH_RETENTION_DAYS", "0", "must be a whole number of at least 1"),
    ("TRASH_RETENTION_DAYS", "seven", "must be a whole number of at least 1"),
    ("MINIO_SOURCE_REGION", "us east 1", "must be a region name"),
    ("BACKUP_TARGET_REGION", "-eu", "must be a region name"),
    ("BACKUP_S3_PROVIDER", "minio", "must be one of AWS,"),
])
def test_each_rule_refuses_naming_the_variable(env_file, name, value, reason):
    message = refusal(env_file({name: value}))
    assert message.startswith(f"invalid configuration: {name}: "), message
    assert reason in message


def test_every_problem_is_reported_at_once(env_file):
    message = refusal(env_file({"BACKUP_ENGINE": "restic", "BACKUP_TIMEOUT": "never"}))
    assert "BACKUP_ENGINE: must be 'mc' or 'rclone'" in message
    assert "BACKUP_TIMEOUT: must be a positive duration" in message


def test_colons_in_keys_are_refused_for_mc_only(env_file):
    values = {"MINIO_SOURCE_ACCESS_KEY": "acc:ess", "BACKUP_TARGET_SECRET_KEY": "secret:with-colon"}
    assert "contains ':'" in refusal(env_file(values))
    cfg = load(env_file(values | {"BACKUP_ENGINE": "rclone"}))
    assert cfg.source.access_key == "acc:ess" and cfg.target.secret_key == "secret:with-colon"


def test_the_optional_variables_may_be_empty(env_file):
    empty = {"BACKUP_CA_FILE": "", "BACKUP_METRICS_FILE": "", "BACKUP_HEALTHCHECK_URL": "",
             "BACKUP_BANDWIDTH": "", "BACKUP_TARGET_PREFIX": "", "BACKUP_LOCK_STALE_AFTER": ""}
    cfg = load(env_file(empty))
    assert cfg.bandwidth == 0 and cfg.target_prefix == "" and cfg.lock_stale_after == 7 * 3600


# --- secrets ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "secret"), [
    ("MINIO_SOURCE_SECRET_KEY", "leak:me-7f3a"),  # mc would read the part after ':' as a session token
    ("BACKUP_TARGET_SECRET_KEY", "leak\tme-7f3a"),  # a control character
    ("BACKUP_TARGET_SECRET_KEY", "leak\u2028me-7f3a"),  # a line break to splitlines()
])
def test_a_refused_secret_is_named_never_shown(name, secret):
    message = refusal(None, REQUIRED | {name: secret})
    assert message.startswith(f"invalid configuration: {name}: ")
    assert "leak" not in message and "7f3a" not in message


def test_a_malformed_line_is_named_by_number_and_variable_never_by_content(env_file):
    path = env_file(text=envspec.render(REQUIRED, "test") + "BACKUP_TARGET_SECRET_KEY='leak-7f3a'\n")
    message = refusal(path)
    line = len(envspec.render(REQUIRED, "test").splitlines()) + 1
    assert message == f'env file {path}, line {line}: variable BACKUP_TARGET_SECRET_KEY is not NAME="value"'
    assert "leak" not in message


def test_a_line_that_is_no_assignment_is_named_by_number_only(env_file):
    path = env_file(text="this line holds leak-7f3a\n")
    assert refusal(path) == f'env file {path}, line 1: a line is not NAME="value"'


def test_an_unknown_variable_in_the_file_is_refused_by_name(env_file):
    typos = 'BACKUP_TARGET_SECRET="leak-7f3a"\nMINIO_BACKUP_BUCKET="books"\n'
    message = refusal(env_file(text=envspec.render(REQUIRED, "test") + typos))
    assert "unknown variable BACKUP_TARGET_SECRET, MINIO_BACKUP_BUCKET" in message
    assert "a typo would silently do nothing" in message and "leak" not in message


def test_the_configuration_repr_holds_no_secret(env_file):
    cfg = load(env_file())
    assert SOURCE_SECRET not in repr(cfg) and TARGET_SECRET not in repr(cfg)
    assert set(cfg.secrets) == {SOURCE_SECRET, TARGET_SECRET}


# --- the env file parser ------------------------------------------------------------------------

def test_quoting_comments_blank_lines_export_and_bare_values(env_file):
    text = "\n".join([
        "# Dream Central Storage backup",
        "",
        "   # an indented comment",
        'MINIO_SOURCE_ENDPOINT="http://minio.internal:9000"',
        "export MINIO_SOURCE_ACCESS_KEY=source-access",
        r'MINIO_SOURCE_SECRET_KEY="q\"uote \\back \$dollar \`tick # not a comment"',
        '  BACKUP_TARGET_ENDPOINT="https://s3.offsite.example"   ',
        "BACKUP_TARGET_ACCESS_KEY=target-access",
        f'BACKUP_TARGET_SECRET_KEY="{TARGET_SECRET}"',
        'BACKUP_TARGET_BUCKET="first-choice"',
        'BACKUP_TARGET_BUCKET="dcs-backup"',  # the last assignment wins, as in a shell
        'MINIO_BACKUP_BUCKETS="books,trash"',
        "BACKUP_TARGET_PREFIX=",
        'BACKUP_BANDWIDTH=""',
    ]) + "\n"
    values = config.read_env_file(env_file(text=text))
    assert values["MINIO_SOURCE_ACCESS_KEY"] == "source-access"
    assert values["MINIO_SOURCE_SECRET_KEY"] == 'q"uote \\back $dollar `tick # not a comment'
    assert values["BACKUP_TARGET_ENDPOINT"] == "https://s3.offsite.example"
    assert values["BACKUP_TARGET_BUCKET"] == "dcs-backup"
    assert values["BACKUP_TARGET_PREFIX"] == "" and values["BACKUP_BANDWIDTH"] == ""
    assert len(values) == 10
    assert load(env_file(text=text)).source.secret_key == 'q"uote \\back $dollar `tick # not a comment'


@pytest.mark.parametrize("line", [
    "BACKUP_TARGET_BUCKET='dcs-backup'",  # single quotes: not the format, refused rather than guessed
    'BACKUP_TARGET_BUCKET="dcs-backup',  # unterminated
    'BACKUP_TARGET_BUCKET="dcs-backup" # trailing comment',
    "BACKUP_TARGET_BUCKET=dcs backup",
    "BACKUP_TARGET_BUCKET = dcs-backup",
    'BACKUP_TARGET_BUCKET="dcs-"backup"',
])
def test_lines_a_shell_would_read_differently_are_refused(env_file, line):
    text = envspec.render({k: v for k, v in REQUIRED.items() if k != "BACKUP_TARGET_BUCKET"}, "t") + line + "\n"
    path = env_file(text=text)
    assert refusal(path).startswith(f"env file {path}, line {len(text.splitlines())}: ")
    assert refusal(path).endswith(' is not NAME="value"')


def test_what_the_ansible_module_renders_reads_back_exactly(env_file):
    nasty = REQUIRED | {"MINIO_SOURCE_SECRET_KEY": 'a"b\\c$d`e f#g=h\'i', "BACKUP_TARGET_PREFIX": "vps1"}
    assert config.read_env_file(env_file(nasty)) == nasty


def test_unreadable_files_are_refused_with_the_reason(tmp_path):
    missing = tmp_path / "absent.env"
    assert refusal(str(missing)) == f"env file {missing} does not exist"
    assert refusal(str(tmp_path)).startswith(f"env file {tmp_path} is a directory")
    latin1 = tmp_path / "latin1.env"
    latin1.write_bytes(b'MINIO_SOURCE_SECRET_KEY="caf\xe9"\n')
    assert refusal(str(latin1)) == f"env file {latin1} is not UTF-8 text"


# --- what is known after a refusal ----------------------------------------------------------------

def test_best_effort_keeps_each_valid_value_from_its_highest_layer_and_every_secret(env_file):
    path = env_file({"BACKUP_TIMEOUT": "never", "MINIO_BACKUP_LOG": "/var/log/from-file.log",
                     "BACKUP_METRICS_FILE": "/var/lib/prom/backup.prom"})
    values, secrets = config.best_effort(path, environ={"BACKUP_METRICS_FILE": "relative.prom",
                                                        "MINIO_SOURCE_SECRET_KEY": "env-secret"},
                                         overrides={"MINIO_BACKUP_LOG": None})
    assert values["MINIO_BACKUP_LOG"] == "/var/log/from-file.log"
    assert values["BACKUP_TIMEOUT"] == "6h"  # the file's value is invalid: the default stands
    assert values["BACKUP_METRICS_FILE"] == "/var/lib/prom/backup.prom"  # the environment's is invalid
    assert values["MINIO_SOURCE_SECRET_KEY"] == "env-secret"
    assert set(secrets) == {"env-secret", SOURCE_SECRET, TARGET_SECRET}


def test_best_effort_never_raises(tmp_path):
    values, secrets = config.best_effort(str(tmp_path / "absent.env"), environ={})
    assert values["MINIO_BACKUP_LOG"] == "/var/log/minio-backup.log" and secrets == ()


def test_the_healthcheck_url_is_scrubbed_like_the_keys(make_config):
    """Its token lets anyone ping success: every log line and message the program writes loses it."""
    from dream_backup.log import Scrubber  # noqa: PLC0415

    url = "https://hc-ping.com/3f9c-secret-token"
    config = make_config(BACKUP_HEALTHCHECK_URL=url)
    assert url in config.secrets
    assert "3f9c-secret-token" not in Scrubber(config.secrets)(f"ping {url}/fail failed: HTTP 500")
