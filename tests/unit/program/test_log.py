"""The structured log (log.py): one JSON object per line in the file, a short escaped text line on
stderr, secrets masked in both, and the file opened like every file root writes."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pytest

from dream_backup import log
from dream_backup.errors import ConfigError

SECRET = "target-SECRET-9f3e"
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def run_log(tmp_path):
    opened = []

    def make(secrets=(SECRET,), echo=True):
        opened.append(log.RunLog(str(tmp_path / "backup.log"), log.Scrubber(secrets), echo=echo))
        return opened[-1]

    yield make
    for each in opened:
        each.close()


def lines(tmp_path) -> list[dict]:
    text = (tmp_path / "backup.log").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def test_a_line_is_one_json_object_with_ts_level_message_and_its_fields(run_log, tmp_path, capsys):
    run = run_log()
    run.info(log.STARTING_MIRROR, bucket="books", reason=None, results={"objects": 3})
    [record] = lines(tmp_path)
    assert list(record) == ["ts", "level", "message", "bucket", "results"]  # None fields are left out
    assert TS.match(record["ts"]), record["ts"]
    assert record | {"ts": None} == {"ts": None, "level": "INFO", "message": "Starting mirror", "bucket": "books",
                                     "results": {"objects": 3}}
    assert capsys.readouterr().err == f"{record['ts']} INFO Starting mirror bucket=books\n"


def test_levels_and_the_count_of_errors(run_log, tmp_path):
    run = run_log(echo=False)
    run.info("a")
    run.warning("b")
    run.error(log.MIRROR_FAILED, bucket="apps", reason="boom")
    run.error(log.BACKUP_FAILED)
    assert [r["level"] for r in lines(tmp_path)] == ["INFO", "WARNING", "ERROR", "ERROR"]
    assert run.errors == 2


def test_the_messages_operators_grep_for_are_verbatim():
    assert (log.STARTING_MIRROR, log.COMPLETED_MIRROR, log.MIRROR_FAILED, log.BACKUP_FAILED,
            log.BACKUP_COMPLETED) == ("Starting mirror", "Completed mirror", "Mirror failed", "Backup failed",
                                      "Backup completed")
    assert log.BACKUP_SKIPPED == "Backup skipped: another run is in progress"


def test_a_secret_is_masked_in_the_file_and_on_stderr(run_log, tmp_path, capsys):
    run = run_log()
    run.error(log.MIRROR_FAILED, bucket="books", reason=f"engine said: key {SECRET} rejected",
              results={"error": [f"{SECRET}"]}, **{f"x{SECRET}": 1})
    text = (tmp_path / "backup.log").read_text()
    err = capsys.readouterr().err
    assert SECRET not in text and SECRET not in err
    assert lines(tmp_path)[0]["reason"] == "engine said: key ******** rejected"
    assert "reason=engine said: key ******** rejected" in err


@pytest.mark.parametrize("secret", ['ab"cd\\1234', "tab\there-1234", 'q"uote"d-secret'])
def test_a_secret_json_would_escape_is_masked_in_the_file_too(run_log, tmp_path, capsys, secret):
    """The file holds JSON, where a secret's quotes and backslashes are escaped: neither spelling is left."""
    run = run_log(secrets=(secret,))
    run.error(log.MIRROR_FAILED, bucket="books", reason=f"engine said {secret}", results=[Path(secret)])
    text = (tmp_path / "backup.log").read_text(encoding="utf-8")
    escaped = json.dumps(secret)[1:-1]
    assert secret not in text and escaped not in text
    assert lines(tmp_path)[0]["reason"] == "engine said ********"
    assert secret not in capsys.readouterr().err


def test_a_line_never_breaks_in_two_whatever_a_key_holds(run_log, tmp_path, capsys):
    key = "a\nERROR forged\r\x85\u2028\u2029\x1b[2Jz"
    run = run_log()
    run.info(log.MIRROR_EVENT, bucket="books", reason=key)
    text = (tmp_path / "backup.log").read_text(encoding="utf-8")
    assert len(text.splitlines()) == 1  # str.splitlines breaks at NEL, U+2028 and U+2029 too
    assert json.loads(text)["reason"] == key  # the same JSON
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "\x1b" not in err
    assert err.endswith("reason=a\\x0aERROR forged\\x0d\\x85\\u2028\\u2029\\x1b[2Jz\n")


def test_the_log_file_is_created_0640_and_appended_to(run_log, tmp_path):
    run_log(echo=False).info("first")
    run_log(echo=False).info("second")
    assert [r["message"] for r in lines(tmp_path)] == ["first", "second"]
    assert stat.S_IMODE((tmp_path / "backup.log").stat().st_mode) == 0o640


def test_a_symlink_at_the_log_path_is_refused(tmp_path):
    (tmp_path / "target").write_text("")
    (tmp_path / "backup.log").symlink_to(tmp_path / "target")
    with pytest.raises(ConfigError, match=r"log file .* is a symbolic link"):
        log.RunLog(str(tmp_path / "backup.log"), log.Scrubber())
    assert (tmp_path / "target").read_text() == ""


def test_stderr_log_writes_no_file(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = log.StderrLog(log.Scrubber((SECRET,)))
    record = run.error(log.BACKUP_FAILED, reason=f"config has {SECRET}")
    run.close()
    assert record["level"] == "ERROR" and run.errors == 1
    assert list(tmp_path.iterdir()) == []
    assert capsys.readouterr().err == f"{record['ts']} ERROR Backup failed reason=config has ********\n"


def test_scrubber_ignores_values_too_short_to_mask_safely():
    scrub = log.Scrubber(("abc", "", "abcd"))
    assert scrub.secrets == ("abcd",)
    assert scrub("abc abcd abcde") == "abc ******** ********e"


def test_scrubber_value_masks_inside_keys_lists_and_dicts_and_keeps_other_types():
    scrub = log.Scrubber((SECRET,))
    value = {f"k{SECRET}": [SECRET, 1, None, {"nested": f"x{SECRET}"}], "n": 2.5}
    assert scrub.value(value) == {"k********": ["********", 1, None, {"nested": "x********"}], "n": 2.5}
