"""The key that writes production (docs/security.md).

The nightly source key in the env file only reads. A restore writes production with the restore key,
which never lives on the VPS: the controller hands it to one run through the program's environment,
MINIO_RESTORE_ACCESS_KEY and MINIO_RESTORE_SECRET_KEY (never argv, never the env file). A rehearsal
writes only its scratch bucket: with the restore key when one is given (a rehearsal run from the
controller), else with the env file's BACKUP_REHEARSAL_ACCESS_KEY/SECRET_KEY, a key that can write
that scratch bucket and nothing else (the scheduled rehearsal). Either way the command's production
side talks with that key alone; a command that would have to write with the nightly key is refused
(exit 2) with the name of the missing variable."""

from __future__ import annotations

import dataclasses

from dream_backup import envspec
from dream_backup.config import Config, Endpoint
from dream_backup.errors import ConfigError

RESTORE_ACCESS_KEY = "MINIO_RESTORE_ACCESS_KEY"
RESTORE_SECRET_KEY = "MINIO_RESTORE_SECRET_KEY"  # noqa: S105 - a variable's name
RESTORE_KEY = (RESTORE_ACCESS_KEY, RESTORE_SECRET_KEY)
REHEARSAL_KEY = ("BACKUP_REHEARSAL_ACCESS_KEY", "BACKUP_REHEARSAL_SECRET_KEY")
HOW = ("the restore key lives on the controller (vault: minio_restore_source_access_key and "
       "minio_restore_source_secret_key) and reaches the program through its environment, never the env file")


def from_environment(environ, engine: str) -> tuple[str, str] | None:
    """The restore key of the process environment, or None when neither half is set; ConfigError when
    only one half is, or a value is invalid (the message names the variable, never the value)."""
    access, secret = (environ.get(name, "") for name in RESTORE_KEY)
    if not access and not secret:
        return None
    missing = [name for name, value in zip(RESTORE_KEY, (access, secret), strict=True) if not value]
    if missing:
        raise ConfigError(f"{missing[0]} is not set but {RESTORE_KEY[1 - RESTORE_KEY.index(missing[0])]} is: "
                          f"give both halves of the restore key ({HOW})")
    # The env file's rules for a key and a secret (those of the rehearsal key's variables).
    for name, ruled_as, value in zip(RESTORE_KEY, REHEARSAL_KEY, (access, secret), strict=True):
        reason = envspec.value_error(ruled_as, value, engine)
        if reason:
            raise ConfigError(f"{name}: {reason}")
    return access, secret


def writing_with(config: Config, key: tuple[str, str]) -> Config:
    """``config`` whose production side uses ``key``; the nightly key's secret stays scrubbed."""
    source = Endpoint(config.source.url, key[0], key[1], config.source.region)
    return dataclasses.replace(config, source=source,
                               held_secrets=(*config.held_secrets, config.source.secret_key))


def for_restore(config: Config, environ, dry_run: bool) -> Config:
    """A restore writes production with the restore key; refused without it. A dry run only reads and
    uses the restore key when given, else the nightly key."""
    key = from_environment(environ, config.engine)
    if key is None:
        if dry_run:
            return config
        raise ConfigError(f"a restore writes into production and the nightly source key only reads: "
                          f"{RESTORE_ACCESS_KEY} and {RESTORE_SECRET_KEY} are not set ({HOW})")
    return writing_with(config, key)


def for_rehearsal(config: Config, environ) -> Config:
    """A rehearsal writes its scratch bucket with the restore key when given, else the env file's
    rehearsal key; refused without either."""
    key = from_environment(environ, config.engine)
    if key is not None:
        return writing_with(config, key)
    if config.rehearsal_access_key and config.rehearsal_secret_key:
        return writing_with(config, (config.rehearsal_access_key, config.rehearsal_secret_key))
    raise ConfigError(f"a rehearsal writes into the scratch bucket {config.rehearsal_bucket} and the nightly "
                      f"source key only reads: neither {RESTORE_ACCESS_KEY}/{RESTORE_SECRET_KEY} (the restore "
                      f"key, from the controller) nor {REHEARSAL_KEY[0]}/{REHEARSAL_KEY[1]} (the env file's "
                      "scratch-bucket key) is set")
