"""backup_command module (once named dream_backup): runs a stand-in program (a script written here that
prints a fixed document and exits with a fixed code) and checks what the module makes of it: argv, parsed
result, changed, reason, failure on exit codes, check mode."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.unit.roles.role_play import local_host, run_play

SECRET = "env-SECRET-value-41d0"


class Program:
    """An executable that records its argv and environment, then prints `stdout`/`stderr` and exits `rc`."""

    def __init__(self, root: Path):
        self.path = root / "dream-backup"
        self.calls = root / "calls.jsonl"

    def behave(self, *, stdout="", stderr="", rc=0):
        self.path.write_text(
            f"#!{sys.executable}\n"
            "import json, os, sys\n"
            f"with open({str(self.calls)!r}, 'a') as f:\n"
            "    f.write(json.dumps({'argv': sys.argv[1:], 'env': dict(os.environ)}) + '\\n')\n"
            f"sys.stdout.write({stdout!r})\n"
            f"sys.stderr.write({stderr!r})\n"
            f"sys.exit({rc})\n")
        self.path.chmod(0o755)

    def runs(self) -> list[dict]:
        if not self.calls.exists():
            return []
        return [json.loads(line) for line in self.calls.read_text().splitlines()]


@pytest.fixture
def program(tmp_path):
    return Program(tmp_path)


def run(run_module, program, command, *, check=False, **args):
    return run_module("backup_command", {"program": str(program.path), "command": command, **args}, check=check)


def backup_doc(**objects):
    return json.dumps({"verdict": "ok", "exit_code": 0, "reason": None,
                       "results": {b: {"verdict": "ok", "objects": n, "bytes": 10 * n} for b, n in objects.items()}})


def test_backup_runs_with_json_and_args_and_reports_changed_when_objects_were_copied(run_module, program):
    program.behave(stdout=backup_doc(books=3, apps=0))
    result = run(run_module, program, "backup", args=["--bucket", "books"])
    assert not result.get("failed"), result
    assert program.runs()[0]["argv"] == ["backup", "--json", "--bucket", "books"]
    assert result["changed"] is True and result["rc"] == 0 and result["reason"] is None
    assert result["result"]["results"]["books"]["objects"] == 3


def test_backup_that_copied_nothing_is_not_changed(run_module, program):
    program.behave(stdout=backup_doc(books=0, apps=0))
    assert run(run_module, program, "backup")["changed"] is False


def test_restore_changed_follows_restored_count(run_module, program):
    program.behave(stdout=json.dumps({"restored": 2, "bytes": 5, "skipped_present": 0, "failed": 0}))
    assert run(run_module, program, "restore", args=["--bucket", "books"])["changed"] is True
    program.behave(stdout=json.dumps({"restored": 0, "bytes": 0, "skipped_present": 4, "failed": 0}))
    assert run(run_module, program, "restore", args=["--bucket", "books"])["changed"] is False


def test_rehearsal_changed_when_it_restored_a_sample(run_module, program):
    program.behave(stdout=json.dumps({"verdict": "pass", "objects": 3, "copy_seconds": 0.5, "removed": 3}))
    assert run(run_module, program, "rehearse", args=["--bucket", "books"])["changed"] is True
    # Refused or failed before the copy: nothing was written.
    program.behave(stdout=json.dumps({"verdict": "fail", "objects": 0, "copy_seconds": None}))
    assert run(run_module, program, "rehearse", args=["--bucket", "books"], ok_codes=[0, 1])["changed"] is False


def test_read_only_commands_and_dry_runs_never_report_changed(run_module, program):
    program.behave(stdout=json.dumps({"restored": 0, "would_restore": 7, "results": {"b": {"objects": 7}}}))
    assert run(run_module, program, "restore", args=["--bucket", "b", "--dry-run"])["changed"] is False
    assert run(run_module, program, "backup", args=["--dry-run"])["changed"] is False
    assert run(run_module, program, "drill")["changed"] is False


def test_failure_names_the_reason_from_the_document(run_module, program):
    program.behave(stdout=json.dumps({"verdict": "failed", "exit_code": 1, "reason": "target unreachable",
                                      "results": {}}), stderr="noise\n", rc=1)
    result = run(run_module, program, "backup")
    assert result["failed"] is True and result["rc"] == 1
    assert result["reason"] == "target unreachable"
    assert result["msg"] == "dream-backup backup exited 1: target unreachable"


def test_failure_without_a_document_takes_the_last_stderr_line(run_module, program):
    program.behave(stderr="usage: dream-backup ...\ndream-backup: error: unrecognized arguments: --nope\n\n", rc=2)
    result = run(run_module, program, "versions", args=["--nope"])
    assert result["failed"] is True and result["rc"] == 2 and result["result"] is None
    assert result["reason"] == "dream-backup: error: unrecognized arguments: --nope"


def test_ok_codes_accept_a_non_zero_exit(run_module, program):
    program.behave(stdout="PROBLEM: config.json is missing\n1 problem(s) found\n", rc=1)
    result = run(run_module, program, "inspect-book", args=["book-1"], json=False, ok_codes=[0, 1])
    assert not result.get("failed"), result
    assert program.runs()[0]["argv"] == ["inspect-book", "book-1"]
    assert result["rc"] == 1 and result["result"] is None
    assert result["stdout_lines"] == ["PROBLEM: config.json is missing", "1 problem(s) found"]
    assert run(run_module, program, "inspect-book", args=["book-1"], json=False)["failed"] is True


def test_success_without_a_json_document_fails(run_module, program):
    program.behave(stdout="a table, not JSON\n")
    result = run(run_module, program, "ls", args=["backup"])
    assert result["failed"] is True and "printed no JSON document" in result["msg"]


def test_a_list_document_is_returned_as_is(run_module, program):
    program.behave(stdout=json.dumps([{"bucket": "books", "objects": 0}]))
    assert run(run_module, program, "ls", args=["backup"])["result"] == [{"bucket": "books", "objects": 0}]


def test_environment_reaches_the_program_and_not_the_result(run_module, program):
    program.behave(stdout=backup_doc(books=0))
    result = run(run_module, program, "backup", environment={"MINIO_BACKUP_LOG": "/tmp/manual.log",
                                                             "DCS_TEST_VALUE": SECRET})
    env = program.runs()[0]["env"]
    assert env["MINIO_BACKUP_LOG"] == "/tmp/manual.log" and env["DCS_TEST_VALUE"] == SECRET
    del result["invocation"], result["_raw"]  # the invocation echoes the options, as for every module
    assert SECRET not in json.dumps(result)


def test_the_restore_key_reaches_the_programs_environment_only_and_is_masked(run_module, program):
    program.behave(stdout=json.dumps({"restored": 1}))
    result = run(run_module, program, "restore", args=["--bucket", "books"], restore_access_key="RESTOREKEY1",
                 restore_secret_key=SECRET)
    call = program.runs()[0]
    assert call["env"]["MINIO_RESTORE_ACCESS_KEY"] == "RESTOREKEY1"
    assert call["env"]["MINIO_RESTORE_SECRET_KEY"] == SECRET
    assert SECRET not in json.dumps(call["argv"]) and SECRET not in json.dumps(result)  # no_log: the invocation too
    program.behave(stdout=json.dumps({"restored": 0}))
    run(run_module, program, "restore", args=["--bucket", "books"])
    assert "MINIO_RESTORE_ACCESS_KEY" not in program.runs()[1]["env"]  # none given, none passed


@pytest.mark.parametrize(("command", "args"), [("backup", []), ("restore", ["--bucket", "books"]),
                                               ("rehearse", ["--bucket", "books"])])
def test_check_mode_skips_a_command_that_writes(run_module, program, command, args):
    program.behave(stdout=backup_doc(books=5))
    result = run(run_module, program, command, args=args, check=True)
    assert result["skipped"] is True and result["changed"] is False and result["rc"] is None
    assert result["failed"] is False  # said outright: Ansible fails a result with rc != 0 and no "failed"
    assert "would write" in result["msg"]
    assert program.runs() == []


@pytest.mark.parametrize(("command", "args"), [("restore", ["--bucket", "books", "--dry-run"]), ("drill", []),
                                               ("trash-report", [])])
def test_check_mode_runs_read_only_commands(run_module, program, command, args):
    program.behave(stdout=json.dumps({"restored": 0, "would_restore": 1}))
    result = run(run_module, program, command, args=args, check=True)
    assert not result.get("failed") and not result.get("skipped"), result
    assert result["result"]["would_restore"] == 1 and result["changed"] is False
    assert len(program.runs()) == 1


def test_missing_program_fails_pointing_at_provisioning(run_module, program):
    result = run(run_module, program, "drill")
    assert result["failed"] is True
    assert result["msg"] == f"{program.path} is missing or not executable: provision the host with playbooks/site.yml"


def test_the_old_name_dream_backup_still_runs_the_module_and_says_it_is_deprecated(program, tmp_path):
    """meta/runtime.yml routes dream.backup.dream_backup to backup_command for one release."""
    program.behave(stdout=backup_doc(books=1))
    task = {"name": "old name", "dream.backup.dream_backup": {"program": str(program.path), "command": "backup"},
            "register": "old"}
    proc = run_play(tmp_path, local_host(), {"gather_facts": False, "tasks": [
        task, {"name": "show", "ansible.builtin.debug": {"msg": "objects={{ old.result.results.books.objects }}"}}]})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert program.runs()[0]["argv"] == ["backup", "--json"]
    assert "objects=1" in proc.stdout
    assert "dream.backup.backup_command" in proc.stdout + proc.stderr  # the deprecation names the new module
