"""Exit codes (errors.py): the same for every command, carried by the exceptions, and documented in --help."""

from __future__ import annotations

import re

from dream_backup import errors


def test_the_documented_codes():
    assert (errors.EXIT_OK, errors.EXIT_FAILURE, errors.EXIT_REFUSED, errors.EXIT_LOCKED) == (0, 1, 2, 75)


def test_each_exception_carries_its_code():
    assert errors.DreamBackupError("x").exit_code == 1
    assert errors.EngineError("x").exit_code == 1
    assert errors.ConfigError("x").exit_code == 2
    locked = errors.LockedError("held", pid=42, held_since=1.5)
    assert (locked.exit_code, locked.pid, locked.held_since, str(locked)) == (75, 42, 1.5, "held")
    assert errors.LockedError("held").pid is None
    for cls in (errors.ConfigError, errors.EngineError, errors.LockedError):
        assert issubclass(cls, errors.DreamBackupError)


def test_the_help_lists_every_code_once():
    codes = re.findall(r"^  (\d+) ", errors.EXIT_CODES_HELP, re.MULTILINE)
    assert codes == ["0", "1", "2", "75"]
