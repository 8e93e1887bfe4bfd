"""The command line: the command is only ever the token at the command's position, so any option or
positional value may equal a command's name; every earlier form keeps working."""

from __future__ import annotations

import importlib

import pytest

from dream_backup import cli


@pytest.mark.parametrize(("argv", "command", "expected"), [
    ([], "backup", {"bucket": None, "env_file": cli.DEFAULT_ENV_FILE, "log_path": None}),
    (["--bucket", "check"], "backup", {"bucket": ["check"]}),
    (["--bucket", "books", "--bucket", "drill", "--dry-run"], "backup",
     {"bucket": ["books", "drill"], "dry_run": True}),
    (["--log-path", "/var/log/minio-backup.manual.log"], "backup", {"log_path": "/var/log/minio-backup.manual.log"}),
    (["--log-path", "check"], "backup", {"log_path": "check"}),
    (["--env-file", "drill"], "backup", {"env_file": "drill"}),
    (["--env-file", "/e", "drill", "--json"], "drill", {"env_file": "/e", "json": True}),
    (["--env-file=/e", "--log-path=/l", "check"], "check", {"env_file": "/e", "log_path": "/l"}),
    (["drill", "--env-file", "/e", "--log-path", "/l"], "drill", {"env_file": "/e", "log_path": "/l"}),
    (["--env-file", "/a", "check", "--env-file", "/b"], "check", {"env_file": "/b"}),
    (["inspect-book", "drill"], "inspect-book", {"book": "drill"}),
    (["inspect-book", "--html", "check", "backup"], "inspect-book", {"book": "backup", "html": "check"}),
    (["ls", "backup", "ls"], "ls", {"side": "backup", "path": "ls"}),
    (["ls", "source", "restore/backup"], "ls", {"side": "source", "path": "restore/backup"}),
    (["backup", "--bucket", "drill"], "backup", {"bucket": ["drill"]}),
    (["drill", "--bucket", "backup", "--seed", "check"], "drill", {"bucket": ["backup"], "seed": "check"}),
    (["restore", "--bucket", "books", "--prefix", "drill/"], "restore", {"bucket": "books", "prefix": "drill/"}),
    (["trash-report", "--key", "check"], "trash-report", {"key": ["check"]}),
])
def test_the_command_is_only_at_its_position(argv, command, expected):
    args = cli.parse(argv)
    assert args.command == command
    for name, value in expected.items():
        assert getattr(args, name) == value, name


@pytest.mark.parametrize("argv", [["--bucket"], ["--no-such-flag"], ["--env-file"], ["drill", "--log-path"],
                                  ["--json", "drill"], ["ls", "sideways"],
                                  ["drill", "--samples", "many"], ["restore"]])
def test_bad_arguments_are_an_error_not_an_exit(argv):
    with pytest.raises(cli.ArgumentsError):
        cli.parse(argv)


def test_help_lists_every_command_and_the_exit_codes(capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.parse(["--help"])
    assert stopped.value.code == 0
    out = capsys.readouterr().out
    for name in cli.COMMANDS:
        assert f"    {name} " in out
    assert "exit codes:" in out and "75" in out


def test_help_of_a_command_after_global_options(capsys):
    with pytest.raises(SystemExit):
        cli.parse(["--env-file", "/e", "drill", "--help"])
    out = capsys.readouterr().out
    assert out.startswith("usage: dream-backup drill") and "--samples" in out and "exit codes:" in out


@pytest.mark.parametrize("argv", [["--version"], ["--env-file", "/e", "--version"], ["--bucket", "books", "--version"]])
def test_version(argv, capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.parse(argv)
    assert stopped.value.code == 0
    assert capsys.readouterr().out.startswith("dream-backup ")


def test_every_command_has_a_runner_and_a_failure_message():
    for command in cli.COMMANDS.values():
        assert callable(importlib.import_module(f"dream_backup.commands.{command.module}").run)
        assert command.failed.endswith("failed")


def test_drill_defaults_are_declared_once_in_the_command_line():
    args = cli.parse(["drill"])
    assert (args.samples, args.max_size, args.seed) == (cli.DRILL_SAMPLES, 256 * 1024 * 1024, None)
    assert cli.parse(["drill", "--samples", "2", "--max-size", "1024"]).max_size == 1024
