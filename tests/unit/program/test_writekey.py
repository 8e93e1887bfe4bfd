"""Which key writes production (writekey, docs/security.md): the restore key from the environment for a
restore, the restore key or else the env file's scratch-bucket key for a rehearsal, never the nightly
key; refusals name the missing variable and never show a secret."""

from __future__ import annotations

import pytest

from dream_backup import config, envspec, writekey
from dream_backup.errors import ConfigError

RESTORE_SECRET = "r3store-Secret/value"
REHEARSAL_SECRET = "scr4tch-Secret"
REQUIRED = {
    "MINIO_SOURCE_ENDPOINT": "http://minio.internal:9000", "MINIO_SOURCE_ACCESS_KEY": "nightly",
    "MINIO_SOURCE_SECRET_KEY": "nightly-secret", "BACKUP_TARGET_ENDPOINT": "https://s3.offsite.example",
    "BACKUP_TARGET_ACCESS_KEY": "target", "BACKUP_TARGET_SECRET_KEY": "target-secret",
    "BACKUP_TARGET_BUCKET": "dcs-backup", "MINIO_BACKUP_BUCKETS": "books,trash",
    "MINIO_BACKUP_LOG": "/var/log/minio-backup.log", "MC_PATH": "/usr/local/bin/mc",
}
RESTORE = {"MINIO_RESTORE_ACCESS_KEY": "restorer", "MINIO_RESTORE_SECRET_KEY": RESTORE_SECRET}


def loaded(tmp_path, **extra):
    path = tmp_path / "backup.env"
    path.write_text(envspec.render(REQUIRED | extra, "test"))
    path.chmod(0o600)
    return config.load(str(path), environ={})


def test_a_restore_writes_with_the_restore_key_and_still_scrubs_the_nightly_secret(tmp_path):
    chosen = writekey.for_restore(loaded(tmp_path), RESTORE, dry_run=False)
    assert (chosen.source.access_key, chosen.source.secret_key) == ("restorer", RESTORE_SECRET)
    assert chosen.source.url == "http://minio.internal:9000"
    assert {RESTORE_SECRET, "nightly-secret", "target-secret"} <= set(chosen.secrets)


def test_a_restore_without_the_restore_key_is_refused_naming_it(tmp_path):
    with pytest.raises(ConfigError) as refused:
        writekey.for_restore(loaded(tmp_path), {}, dry_run=False)
    assert "MINIO_RESTORE_ACCESS_KEY and MINIO_RESTORE_SECRET_KEY are not set" in str(refused.value)
    assert writekey.for_restore(loaded(tmp_path), {}, dry_run=True).source.access_key == "nightly"


@pytest.mark.parametrize("given", ["MINIO_RESTORE_ACCESS_KEY", "MINIO_RESTORE_SECRET_KEY"])
def test_half_a_restore_key_is_refused_naming_the_other_half(tmp_path, given):
    with pytest.raises(ConfigError) as refused:
        writekey.for_restore(loaded(tmp_path), {given: RESTORE[given]}, dry_run=True)
    other = next(name for name in RESTORE if name != given)
    assert str(refused.value).startswith(f"{other} is not set") and RESTORE_SECRET not in str(refused.value)


def test_an_invalid_restore_secret_is_refused_without_showing_it(tmp_path):
    with pytest.raises(ConfigError) as refused:
        writekey.for_restore(loaded(tmp_path), {**RESTORE, "MINIO_RESTORE_SECRET_KEY": "a\nb" + RESTORE_SECRET},
                             dry_run=False)
    assert "MINIO_RESTORE_SECRET_KEY" in str(refused.value) and RESTORE_SECRET not in str(refused.value)


def test_a_rehearsal_prefers_the_restore_key_then_the_scratch_key_and_never_the_nightly_one(tmp_path):
    scratch = {"BACKUP_REHEARSAL_ACCESS_KEY": "scratcher", "BACKUP_REHEARSAL_SECRET_KEY": REHEARSAL_SECRET}
    assert writekey.for_rehearsal(loaded(tmp_path, **scratch), RESTORE).source.access_key == "restorer"
    chosen = writekey.for_rehearsal(loaded(tmp_path, **scratch), {})
    assert (chosen.source.access_key, chosen.source.secret_key) == ("scratcher", REHEARSAL_SECRET)
    with pytest.raises(ConfigError) as refused:
        writekey.for_rehearsal(loaded(tmp_path), {})
    assert "BACKUP_REHEARSAL_ACCESS_KEY" in str(refused.value) and "MINIO_RESTORE_ACCESS_KEY" in str(refused.value)


def test_the_restore_key_in_the_env_file_is_refused(tmp_path):
    path = tmp_path / "backup.env"
    path.write_text(envspec.render(REQUIRED, "test") + f'MINIO_RESTORE_SECRET_KEY="{RESTORE_SECRET}"\n')
    path.chmod(0o600)
    with pytest.raises(ConfigError) as refused:
        config.load(str(path), environ={})
    assert "MINIO_RESTORE_SECRET_KEY must never be in the env file" in str(refused.value)
    assert RESTORE_SECRET not in str(refused.value)


def test_the_scratch_key_is_a_secret_of_the_env_file():
    assert "BACKUP_REHEARSAL_SECRET_KEY" in envspec.SECRET_VARIABLES
    assert envspec.value_error("BACKUP_REHEARSAL_ACCESS_KEY", "") is None
    assert envspec.value_error("BACKUP_REHEARSAL_SECRET_KEY", "with:colon", "mc")
