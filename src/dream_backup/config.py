"""Configuration: command-line flags > process environment > env file > defaults.

The env file is parsed here, never by a shell. Every value is validated by the same rules the
`backup_env` Ansible module applies (envspec); a message names the variable and never shows a secret.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass, field

from dream_backup import envspec, facts, safe_open, trust
from dream_backup.errors import ConfigError

DEFAULTS = {
    "MINIO_BACKUP_LOG": facts.BACKUP_LOG,
    "MC_PATH": "/usr/local/bin/mc",
    "BACKUP_ENGINE": "mc",
    "RCLONE_PATH": "/usr/bin/rclone",
    "BACKUP_TARGET_PREFIX": "",
    "BACKUP_REMOVE": "false",
    "BACKUP_REQUIRE_VERSIONING": "true",
    "BACKUP_TIMEOUT": "6h",
    "BACKUP_BANDWIDTH": "",
    "BACKUP_CA_FILE": "",
    "BACKUP_METRICS_FILE": "",
    "BACKUP_HEALTHCHECK_URL": "",
    "BACKUP_LOCK_FILE": facts.LOCK_FILE,
    "RESTORE_DRILL_LOG": facts.DRILL_LOG,
    "TRASH_RETENTION_DAYS": "7",
    "MINIO_SOURCE_REGION": "us-east-1",
    "BACKUP_TARGET_REGION": "us-east-1",
    "BACKUP_S3_PROVIDER": "Minio",
    "BACKUP_LOCK_STALE_AFTER": "",  # empty: BACKUP_TIMEOUT + 1h
    "BACKUP_VERIFY_SLICES": "30",  # verify-content: each object's content is checked once per this many days
    "BACKUP_REHEARSAL_BUCKET": "dream-backup-rehearsal",  # rehearse: scratch bucket on the production server
    "BACKUP_RTO_BUDGET_HOURS": "24",  # rehearse: the restore time allowed per bucket, exported with the estimate
    "BACKUP_GUARD": "*=25,trash=off",  # the inventory's minio_backup_guard default (docs/guard.md)
    "BACKUP_GUARD_MIN_OBJECTS": "100",
    "BACKUP_STATE_DIR": facts.STATE_DIR,  # root's alone; survives reboots (the guard's last listings)
    "BACKUP_REHEARSAL_ACCESS_KEY": "",  # rehearse: the scratch bucket's key (writekey.py); empty: none
    "BACKUP_REHEARSAL_SECRET_KEY": "",
}
# The restore key comes from the controller through the environment alone (writekey.py).
RESTORE_KEY_VARIABLES = ("MINIO_RESTORE_ACCESS_KEY", "MINIO_RESTORE_SECRET_KEY")
LOCK_STALE_MARGIN = 3600.0
GUARD_DEFAULT_PERCENT = 25.0
REQUIRED = tuple(name for name in envspec.RUNBOOK_VARIABLES if name not in DEFAULTS)
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    unit = text[-1] if text[-1] in _SECONDS else "s"
    return float(text.rstrip("smhd")) * _SECONDS[unit]


def lock_stale_after(values: dict[str, str]) -> float:
    """Seconds after which a held lock is reported as a failure: BACKUP_LOCK_STALE_AFTER, else
    BACKUP_TIMEOUT + 1h (a run that should have ended by then is stuck)."""
    if values.get("BACKUP_LOCK_STALE_AFTER"):
        return parse_duration(values["BACKUP_LOCK_STALE_AFTER"])
    return parse_duration(values.get("BACKUP_TIMEOUT") or DEFAULTS["BACKUP_TIMEOUT"]) + LOCK_STALE_MARGIN


def parse_bool(text: str) -> bool:
    return text.lower() in {"true", "yes", "1", "on"}


@dataclass(frozen=True)
class Endpoint:
    url: str
    access_key: str
    secret_key: str = field(repr=False)
    region: str = "us-east-1"


@dataclass(frozen=True)
class Config:
    source: Endpoint
    target: Endpoint
    target_bucket: str
    target_prefix: str
    buckets: tuple[str, ...]
    log_path: str
    engine: str
    mc_path: str
    rclone_path: str
    remove: bool
    require_versioning: bool
    timeout: float
    bandwidth: int  # bytes per second (BACKUP_BANDWIDTH with its unit applied); 0 = no limit
    ca_file: str
    metrics_file: str
    healthcheck_url: str
    lock_file: str
    drill_log: str
    trash_retention_days: int
    s3_provider: str = "Minio"
    lock_stale_after: float = 6 * 3600 + LOCK_STALE_MARGIN
    env_file: str = ""
    verify_slices: int = 30
    rehearsal_bucket: str = "dream-backup-rehearsal"
    rto_budget_hours: int = 24
    guard: tuple[tuple[str, float | None], ...] = (("*", 25.0), ("trash", None))
    guard_min_objects: int = 100
    state_dir: str = facts.STATE_DIR
    rehearsal_access_key: str = ""
    rehearsal_secret_key: str = field(default="", repr=False)
    held_secrets: tuple[str, ...] = field(default=(), repr=False)  # secrets replaced by writekey, still scrubbed

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.source.secret_key, self.target.secret_key, self.healthcheck_url,
                                 self.rehearsal_secret_key, *self.held_secrets) if s)

    def backup_path(self, bucket: str, key_prefix: str = "") -> str:
        """Path inside the target bucket where ``bucket`` is mirrored: [<prefix>/]<bucket>[/<key_prefix>]."""
        parts = [p for p in (self.target_prefix, bucket, key_prefix.strip("/")) if p]
        return "/".join(parts)

    def guard_threshold(self, bucket: str) -> float | None:
        """The guard's percent for ``bucket`` (None: off); a bucket neither named nor covered by '*'
        gets the program's default."""
        thresholds = dict(self.guard)
        return thresholds.get(bucket, thresholds.get("*", GUARD_DEFAULT_PERCENT))


def read_trusted_text(path: str) -> str:
    """The env file's text, read only when it is root's alone: it names the binaries, paths and URLs this
    root job uses. ConfigError (exit 2) otherwise."""
    if not os.path.lexists(path):
        raise ConfigError(f"env file {path} does not exist")
    # Never through a link, never a FIFO or device (open_regular), never a file another account controls.
    fd = safe_open.open_regular(path, os.O_RDONLY, "env file")
    try:
        trust.check_opened(fd, path, "env file")
        with os.fdopen(fd, encoding="utf-8", closefd=False) as handle:
            return handle.read()
    except OSError as exc:
        raise ConfigError(f"env file {path} is not readable: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"env file {path} is not UTF-8 text") from None
    finally:
        os.close(fd)


def read_env_file(path: str) -> dict[str, str]:
    text = read_trusted_text(path)
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parsed = envspec.parse(line)
        if not parsed:
            # Name the line, not its content: the line may hold a secret.
            name = re.match(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=", raw)
            what = f"variable {name.group(1)}" if name else "a line"
            raise ConfigError(f"env file {path}, line {number}: {what} is not NAME=\"value\"")
        values.update(parsed)
    return values


def load(env_file: str | None, environ: dict[str, str] | None = None,
         overrides: dict[str, str] | None = None) -> Config:
    """Merge the layers, validate, and build a Config; raises ConfigError (exit 2)."""
    environ = os.environ if environ is None else environ
    merged = dict(DEFAULTS)
    if env_file:
        file_values = read_env_file(env_file)
        restore_key = [name for name in RESTORE_KEY_VARIABLES if name in file_values]
        if restore_key:
            raise ConfigError(f"env file {env_file}: {restore_key[0]} must never be in the env file: the restore "
                              "key lives on the controller and reaches a restore through its environment")
        unknown = sorted(set(file_values) - set(envspec.KINDS))
        if unknown:
            raise ConfigError(f"env file {env_file}: unknown variable {', '.join(unknown)} "
                              "(a typo would silently do nothing)")
        merged.update(file_values)
    merged.update({k: v for k, v in environ.items() if k in envspec.KINDS})
    merged.update({k: v for k, v in (overrides or {}).items() if v is not None})

    missing = [name for name in REQUIRED if not merged.get(name)]
    if missing:
        where = f" in {env_file}" if env_file else ""
        raise ConfigError(f"missing required variable {', '.join(missing)}{where}")
    engine = merged["BACKUP_ENGINE"]
    problems = []
    for name, value in merged.items():
        reason = envspec.value_error(name, value, engine)
        if reason:
            problems.append(f"{name}: {reason}")
    if problems:
        raise ConfigError("invalid configuration: " + "; ".join(problems))

    return Config(
        source=Endpoint(merged["MINIO_SOURCE_ENDPOINT"].rstrip("/"), merged["MINIO_SOURCE_ACCESS_KEY"],
                        merged["MINIO_SOURCE_SECRET_KEY"], merged["MINIO_SOURCE_REGION"]),
        target=Endpoint(merged["BACKUP_TARGET_ENDPOINT"].rstrip("/"), merged["BACKUP_TARGET_ACCESS_KEY"],
                        merged["BACKUP_TARGET_SECRET_KEY"], merged["BACKUP_TARGET_REGION"]),
        target_bucket=merged["BACKUP_TARGET_BUCKET"],
        target_prefix=merged["BACKUP_TARGET_PREFIX"],
        buckets=tuple(b.strip() for b in merged["MINIO_BACKUP_BUCKETS"].split(",")),
        log_path=merged["MINIO_BACKUP_LOG"],
        engine=engine,
        mc_path=merged["MC_PATH"],
        rclone_path=merged["RCLONE_PATH"],
        remove=parse_bool(merged["BACKUP_REMOVE"]),
        require_versioning=parse_bool(merged["BACKUP_REQUIRE_VERSIONING"]),
        timeout=parse_duration(merged["BACKUP_TIMEOUT"]),
        bandwidth=envspec.bandwidth_bytes(merged["BACKUP_BANDWIDTH"]) or 0,
        ca_file=merged["BACKUP_CA_FILE"],
        metrics_file=merged["BACKUP_METRICS_FILE"],
        healthcheck_url=merged["BACKUP_HEALTHCHECK_URL"],
        lock_file=merged["BACKUP_LOCK_FILE"],
        drill_log=merged["RESTORE_DRILL_LOG"],
        trash_retention_days=int(merged["TRASH_RETENTION_DAYS"]),
        s3_provider=merged["BACKUP_S3_PROVIDER"],
        lock_stale_after=lock_stale_after(merged),
        env_file=env_file or "",
        verify_slices=int(merged["BACKUP_VERIFY_SLICES"]),
        rehearsal_bucket=merged["BACKUP_REHEARSAL_BUCKET"],
        rto_budget_hours=int(merged["BACKUP_RTO_BUDGET_HOURS"]),
        guard=tuple(envspec.guard_thresholds(merged["BACKUP_GUARD"]).items()),
        guard_min_objects=int(merged["BACKUP_GUARD_MIN_OBJECTS"]),
        state_dir=merged["BACKUP_STATE_DIR"],
        rehearsal_access_key=merged["BACKUP_REHEARSAL_ACCESS_KEY"],
        rehearsal_secret_key=merged["BACKUP_REHEARSAL_SECRET_KEY"],
    )


def best_effort(env_file: str | None, environ: dict[str, str] | None = None,
                overrides: dict[str, str] | None = None) -> tuple[dict[str, str], tuple[str, ...]]:
    """What can still be known after load() refused, so that the refusal reaches the log, the metrics
    and the healthcheck: each variable from the highest layer (flags > environment > env file >
    defaults) whose value is valid on its own; malformed lines and unknown names of the env file are
    skipped. An env file that is not root's alone (or not a regular file) counts for nothing: its paths
    and URLs are never acted on. Also every secret any layer holds, for the scrubber. Never raises."""
    environ = os.environ if environ is None else environ
    file_values: dict[str, str] = {}
    if env_file:
        with contextlib.suppress(ConfigError):
            file_values = envspec.parse(read_trusted_text(env_file))
    layers = [{k: v for k, v in (overrides or {}).items() if v is not None}, environ, file_values, DEFAULTS]
    values: dict[str, str] = {}
    for name in envspec.KINDS:
        for layer in layers:
            value = layer.get(name)
            if value is not None and envspec.value_error(name, value, "rclone") is None:
                values[name] = value
                break
    secrets = tuple(layer[name] for layer in layers[:3] for name in envspec.SECRET_VARIABLES if layer.get(name))
    secrets += tuple(environ[name] for name in RESTORE_KEY_VARIABLES[1:] if environ.get(name))
    return values, secrets
