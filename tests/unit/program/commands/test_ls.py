"""`dream-backup ls` (commands/ls.py): where each side's listing is read, and --as-of only for the backup,
refused (exit 2) before anything is listed. Listing through real engines: tests/integration/test_operator_views.py."""

from __future__ import annotations

from argparse import Namespace
from datetime import UTC, datetime

import pytest

from dream_backup.commands import ls
from dream_backup.engines.base import BACKUP, SOURCE, Location
from dream_backup.errors import EXIT_REFUSED, ConfigError


def test_the_source_is_the_bucket_itself_and_the_backup_its_mirror_path(make_config):
    config = make_config(BACKUP_TARGET_PREFIX="host-1")
    assert ls.location(config, SOURCE, "books", "/book-1/") == Location(SOURCE, "books", "book-1")
    assert ls.location(config, BACKUP, "books", "book-1/") == Location(BACKUP, "dcs-backup", "host-1/books/book-1")
    assert ls.location(make_config(), BACKUP, "books", "") == Location(BACKUP, "dcs-backup", "books")


def test_as_of_is_read_for_the_backup_only():
    assert ls.as_of(Namespace(side=BACKUP)) is None
    assert ls.as_of(Namespace(side=BACKUP, as_of="2026-11-28T01:00:00Z")) == datetime(2026, 11, 28, 1, tzinfo=UTC)
    with pytest.raises(ConfigError) as refused:
        ls.as_of(Namespace(side=SOURCE, as_of="2026-11-28"))
    assert refused.value.exit_code == EXIT_REFUSED
    assert "--as-of lists the backup's history" in str(refused.value)
    with pytest.raises(ConfigError):
        ls.as_of(Namespace(side=BACKUP, as_of="last tuesday"))
