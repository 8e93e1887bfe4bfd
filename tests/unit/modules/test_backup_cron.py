"""backup_cron: schedule validation, the job line, modes, idempotence, check and diff mode."""

from __future__ import annotations

import itertools
import stat
import subprocess

import pytest
from ansible_collections.dream.backup.plugins.module_utils.dcs_cron import cron_escape, percent_error

from tests.unit.conftest import tree_snapshot

COMMAND = "/usr/local/bin/dream-backup.sh"


def args(tmp_path, **overrides):
    base = {"name": "dream-storage-backup", "schedule": "17 2 * * *", "command": COMMAND,
            "cron_dir": str(tmp_path)}
    base.update(overrides)
    return base


def test_job_line_and_file_mode(run_module, tmp_path):
    result = run_module("backup_cron", args(tmp_path, environment={"PATH": "/usr/local/bin:/usr/bin:/bin",
                                                                   "MAILTO": ""}))
    path = tmp_path / "dream-storage-backup"
    text = path.read_text()
    assert result["changed"] is True
    assert text.endswith(
        "17 2 * * * root /usr/local/bin/dream-backup.sh >> /var/log/minio-backup.cron.log 2>&1\n")
    assert "PATH=/usr/local/bin:/usr/bin:/bin\nMAILTO=\n" in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert (path.stat().st_uid, path.stat().st_gid) == (0, 0)
    assert result["line"] == text.splitlines()[-1]


def test_percent_is_escaped(run_module, tmp_path):
    run_module("backup_cron", args(tmp_path, command="date +%F && /usr/local/bin/dream-backup.sh"))
    assert "date +\\%F && " in (tmp_path / "dream-storage-backup").read_text()


@pytest.mark.parametrize("schedule", ["*/15 * * * *", "0 1-5/2 * jan-mar mon,fri", "@daily", "5 4 * * 7",
                                      "0 0 1,15 * *", "30 3 * DEC sun"])
def test_valid_schedules(run_module, tmp_path, schedule):
    assert run_module("backup_cron", args(tmp_path, schedule=schedule))["changed"] is True


@pytest.mark.parametrize(("schedule", "words"), [
    ("17 2 * *", "five fields"),
    ("60 2 * * *", "minute"),
    ("0 24 * * *", "hour"),
    ("0 0 0 * *", "day of month"),
    ("0 0 * 13 *", "month"),
    ("0 0 * * 8", "day of week"),
    ("0 0 * foo *", "month"),
    ("*/0 * * * *", "step"),
    ("5-1 * * * *", "backwards"),
    ("@sometimes", "@daily"),
    ("1,,2 * * * *", "empty"),
])
def test_invalid_schedules_named(run_module, tmp_path, schedule, words):
    result = run_module("backup_cron", args(tmp_path, schedule=schedule))
    assert result["failed"] is True
    assert "schedule" in result["msg"] and words in result["msg"]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("field", "value", "named"), [
    ("name", "dream.backup", "name"),
    ("user", "root; rm", "user"),
    ("log", "relative.log", "log"),
    ("environment", {"BAD-NAME": "x"}, "BAD-NAME"),
    ("command", "", "command"),
])
def test_invalid_fields_named(run_module, tmp_path, field, value, named):
    result = run_module("backup_cron", args(tmp_path, **{field: value}))
    assert result["failed"] is True and named in result["msg"]


def test_idempotent_and_check_mode(run_module, tmp_path):
    before = tree_snapshot(tmp_path)
    assert run_module("backup_cron", args(tmp_path), check=True)["changed"] is True
    assert tree_snapshot(tmp_path) == before
    run_module("backup_cron", args(tmp_path))
    assert run_module("backup_cron", args(tmp_path))["changed"] is False
    before = tree_snapshot(tmp_path)
    assert run_module("backup_cron", args(tmp_path, schedule="0 3 * * *"), check=True)["changed"] is True
    assert tree_snapshot(tmp_path) == before


def test_diff_shows_before_and_after(run_module, tmp_path):
    run_module("backup_cron", args(tmp_path))
    result = run_module("backup_cron", args(tmp_path, schedule="0 3 * * *"), diff=True)
    assert "17 2 * * * root" in result["diff"]["before"]
    assert "0 3 * * * root" in result["diff"]["after"]


def test_absent_removes_and_is_idempotent(run_module, tmp_path):
    run_module("backup_cron", args(tmp_path))
    assert run_module("backup_cron", args(tmp_path, state="absent"), check=True)["changed"] is True
    assert (tmp_path / "dream-storage-backup").exists()
    assert run_module("backup_cron", args(tmp_path, state="absent"))["changed"] is True
    assert not (tmp_path / "dream-storage-backup").exists()
    assert run_module("backup_cron", args(tmp_path, state="absent"))["changed"] is False


def test_missing_cron_dir_fails_clearly(run_module, tmp_path):
    result = run_module("backup_cron", dict(args(tmp_path), cron_dir=str(tmp_path / "nope")))
    assert result["failed"] is True and "does not exist" in result["msg"]
    checked = run_module("backup_cron", dict(args(tmp_path), cron_dir=str(tmp_path / "nope")), check=True)
    assert checked["changed"] is True and not (tmp_path / "nope").exists()


# --- values an attacker (or a typo) could put into the job line ---------------------------------------

def cron_reads(line):
    """The command and stdin cron runs for a /etc/cron.d job line, as cron's do_command.c reads it.

    Five time fields and the user are split off at whitespace; in the rest, a backslash before `%`
    is dropped and gives a literal `%`, any other backslash pair is kept as it is, and the first
    unescaped `%` ends the command: what follows is the job's stdin."""
    fields = line.split(None, 6)
    assert len(fields) == 7, line
    command, escaped = [], False
    rest = fields[6]
    for index, char in enumerate(rest):
        if escaped:
            if char == "%":
                command[-1] = "%"
            else:
                command.append(char)
            escaped = False
            continue
        if char == "%":
            return "".join(command), rest[index + 1:]
        escaped = char == "\\"
        command.append(char)
    return "".join(command), ""


def run_as_cron(line, cwd):
    """Run a job line's command the way cron does: /bin/sh -c with the command part (no stdin given)."""
    command, stdin = cron_reads(line)
    assert stdin == "", f"cron would cut the command at an unescaped %: {line}"
    return subprocess.run(["/bin/sh", "-c", command], cwd=cwd, capture_output=True, text=True, timeout=60,
                          check=False)


HOSTILE_LOG_NAMES = [
    "x.log; touch pwned #",
    "$(touch pwned).log",
    "`touch pwned`.log",
    "with space.log",
    "50%.log",
    "it's \"quoted\".log",
    "a&&touch pwned||.log",
    "tab-free\\back.log",
]


@pytest.mark.parametrize("name", HOSTILE_LOG_NAMES)
def test_hostile_log_path_is_a_literal_file_when_cron_runs_the_job(run_module, tmp_path, name):
    cron_dir, work = tmp_path / "cron.d", tmp_path / "work"
    cron_dir.mkdir()
    work.mkdir()
    log = tmp_path / "logs dir" / name
    log.parent.mkdir()
    result = run_module("backup_cron", args(cron_dir, command="echo job-ran", log=str(log)))
    assert result["changed"] is True
    line = (cron_dir / "dream-storage-backup").read_text().splitlines()[-1]
    assert line == result["line"]
    proc = run_as_cron(line, work)
    assert proc.returncode == 0, proc.stderr
    assert log.read_text() == "job-ran\n"
    assert sorted(p.name for p in log.parent.iterdir()) == [name]
    assert list(work.iterdir()) == [], "the log path ran a command"
    assert not (tmp_path / "pwned").exists()


def test_percent_in_command_reaches_the_shell_literally(run_module, tmp_path):
    cron_dir, work = tmp_path / "cron.d", tmp_path / "work"
    cron_dir.mkdir()
    work.mkdir()
    log = tmp_path / "job.log"
    result = run_module("backup_cron", args(cron_dir, command="printf '%s|' 100% 'a\\\\%b'", log=str(log)))
    proc = run_as_cron(result["line"], work)
    assert proc.returncode == 0, proc.stderr
    assert log.read_text() == "100%|a\\\\%b|"


CONTROL_CHARACTERS = {"carriage return": "\r", "newline": "\n", "tab": "\t", "form feed": "\f",
                      "line separator U+2028": "\u2028", "NUL": "\0", "next line U+0085": "\x85",
                      "escape": "\x1b"}


@pytest.mark.parametrize("char", CONTROL_CHARACTERS.values(), ids=CONTROL_CHARACTERS.keys())
@pytest.mark.parametrize("field", ["command", "log", "schedule", "environment", "user", "name"])
def test_control_characters_are_refused_everywhere(run_module, tmp_path, field, char):
    values = {"command": COMMAND + char + "touch /tmp/pwned", "log": "/var/log/x.log" + char + "y",
              "schedule": "17 2 * * *" + char, "environment": {"MAILTO": "ops" + char + "x"},
              "user": "root" + char, "name": "dream-storage-backup" + char}
    result = run_module("backup_cron", args(tmp_path, **{field: values[field]}))
    assert result["failed"] is True
    assert (field if field != "environment" else "MAILTO") in result["msg"]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["PATH\n", "PATH\r", "PA TH"])
def test_environment_names_with_line_breaks_are_refused(run_module, tmp_path, name):
    result = run_module("backup_cron", args(tmp_path, environment={name: "/usr/bin"}))
    assert result["failed"] is True and "environment" in result["msg"]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("log", ["/var/log/../../etc/cron.d/x", "/var/log/./x.log", "/var/log//x.log",
                                 "/var/log/x/", "//var/log/x.log", "var/log/x.log", "~/x.log",
                                 "/var/log/a\\%b.log"])
def test_log_must_be_a_normalised_absolute_path_cron_can_carry(run_module, tmp_path, log):
    result = run_module("backup_cron", args(tmp_path, log=log))
    assert result["failed"] is True and "log" in result["msg"]
    assert list(tmp_path.iterdir()) == []


def test_backslash_before_percent_in_command_is_refused(run_module, tmp_path):
    # cron cannot carry a backslash followed by a %: "\%" turns into "%", and "\\%" ends the command.
    result = run_module("backup_cron", args(tmp_path, command="printf '\\%s'"))
    assert result["failed"] is True and "command" in result["msg"] and "%" in result["msg"]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("schedule", ["\u0661\u0667 2 * * *", "17 \u00b2 * * *", "17 2 * * \uff11"])
def test_schedule_digits_are_ascii(run_module, tmp_path, schedule):
    # str.isdigit() accepts Arabic-Indic, superscript and full-width digits; cron only reads 0-9.
    result = run_module("backup_cron", args(tmp_path, schedule=schedule))
    assert result["failed"] is True and "schedule" in result["msg"]
    assert list(tmp_path.iterdir()) == []


def test_environment_values_reach_the_job_literally(run_module, tmp_path):
    cron_dir, work = tmp_path / "cron.d", tmp_path / "work"
    cron_dir.mkdir()
    work.mkdir()
    hostile = "$(touch pwned) `touch pwned`; touch pwned"
    run_module("backup_cron", args(cron_dir, command='printf %s "$DREAM_NOTE"', log=str(tmp_path / "job.log"),
                                   environment={"DREAM_NOTE": hostile}))
    text = (cron_dir / "dream-storage-backup").read_text()
    # cron sets NAME=value lines with setenv: no shell reads the value.
    assert f"DREAM_NOTE={hostile}\n" in text
    line = text.splitlines()[-1]
    command, _ = cron_reads(line)
    proc = subprocess.run(["/bin/sh", "-c", command], cwd=work, env={"PATH": "/usr/bin:/bin", "DREAM_NOTE": hostile},
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "job.log").read_text() == hostile
    assert list(work.iterdir()) == []


@pytest.mark.parametrize("value", [" /usr/bin", "/usr/bin ", '"quoted"', "'quoted'", "'half"])
def test_environment_values_cron_would_change_are_refused(run_module, tmp_path, value):
    result = run_module("backup_cron", args(tmp_path, environment={"PATH": value}))
    assert result["failed"] is True and "environment PATH" in result["msg"]
    assert list(tmp_path.iterdir()) == []


def test_every_short_text_of_backslashes_and_percents_is_carried_exactly_or_refused():
    # Exhaustive over a small alphabet: the escaping and the refusal rule agree with cron's reading above.
    refused = 0
    for length in range(1, 7):
        for chars in itertools.product("\\%a", repeat=length):
            text = "".join(chars)
            if percent_error(text):
                refused += 1
                with pytest.raises(ValueError):
                    cron_escape(text)
                continue
            assert cron_reads(f"0 0 * * * root {cron_escape(text)}") == (text, ""), text
    assert refused > 0
