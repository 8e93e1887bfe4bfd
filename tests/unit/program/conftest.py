"""Unit tests of the backup program's pure parts import its sources (the zipapp is built from them)."""

from __future__ import annotations

import sys

import pytest

from tests.support.program import REPO

SOURCES = str(REPO / "src")
if SOURCES not in sys.path:
    sys.path.insert(0, SOURCES)

from dream_backup import config  # noqa: E402 - importable once the sources are on sys.path


@pytest.fixture
def make_config():
    """A valid Config from the environment layer alone: the required variables plus ``extra``."""
    def make(**extra):
        environ = {
            "MINIO_SOURCE_ENDPOINT": "http://minio.internal:9000",
            "MINIO_SOURCE_ACCESS_KEY": "source-access",
            "MINIO_SOURCE_SECRET_KEY": "source-secret",
            "BACKUP_TARGET_ENDPOINT": "https://s3.offsite.example",
            "BACKUP_TARGET_ACCESS_KEY": "target-access",
            "BACKUP_TARGET_SECRET_KEY": "target-secret",
            "BACKUP_TARGET_BUCKET": "dcs-backup",
            "MINIO_BACKUP_BUCKETS": "books,trash",
        }
        return config.load(None, environ=environ | extra)
    return make
