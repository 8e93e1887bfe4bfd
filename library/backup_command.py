#!/usr/bin/python
"""Ansible module backup_command: run one command of the installed backup program and hand back its JSON."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: backup_command
short_description: Run a command of the Dream Central Storage backup program and return its JSON document
description:
  - Runs C(PROGRAM COMMAND --json ARGS) on the host (no shell) and returns the document the program
    printed, parsed, as C(result), with its exit code and the reason of a failure, so that roles and
    playbooks never parse the program's output themselves.
  - Fails when the exit code is not in O(ok_codes); the message names the reason (the document's
    C(reason), else the last line the program wrote to stderr). The program's exit codes are 0 (ok),
    1 (runtime failure), 2 (refused before touching anything) and 75 (another run holds the lock).
  - C(changed) follows from the document, per command - C(backup) when objects were copied,
    C(restore) when objects were restored, C(rehearse) when it restored a sample into its scratch bucket
    (and removed it again), never for the read-only commands and never for a dry run.
  - The program's output carries no secrets (it scrubs them); the O(environment) given to it is not
    returned.
version_added: "1.0.0"
author: Dream Central Storage operations (!UNKNOWN)
options:
  program:
    description: The installed program (the C(dream-backup) link the minio_backup role installs).
    type: path
    default: /usr/local/bin/dream-backup
  command:
    description: The program's command.
    type: str
    required: true
    choices: [backup, drill, check, ls, restore, versions, trash-report, inspect-book, verify-content, rehearse]
  args:
    description: Further arguments after C(COMMAND --json), e.g. C([--bucket, books]).
    type: list
    elements: str
    default: []
  json:
    description:
      - Ask for the JSON document (C(--json)). False runs the command for its human-readable text
        (C(stdout)), e.g. the table of C(versions); C(result) is then null.
    type: bool
    default: true
  environment:
    description:
      - Variables added to the program's environment, e.g. C(MINIO_BACKUP_LOG) for a run logged
        elsewhere. Not among the returned values; like every option they appear in the task's
        invocation (verbose output), so they are no place for secrets (those belong in the env file).
    type: dict
    default: {}
  restore_access_key:
    description:
      - The restore key (docs/security.md) for C(restore) and C(rehearse), handed to the program in its
        environment (C(MINIO_RESTORE_ACCESS_KEY)), never on its command line or in the env file. Without
        it a C(restore) that writes is refused (exit 2) and a C(rehearse) needs the env file's
        scratch-bucket key.
    type: str
    default: ""
  restore_secret_key:
    description: The restore key's secret (C(MINIO_RESTORE_SECRET_KEY)); never logged (no_log).
    type: str
    default: ""
  ok_codes:
    description: Exit codes that are not a failure of the task (C(inspect-book) exits 1 when it found a problem).
    type: list
    elements: int
    default: [0]
extends_documentation_fragment:
  - dream.backup.attributes
attributes:
  check_mode:
    support: full
    details:
      - Read-only commands (everything but C(backup), C(restore) and C(rehearse), and the first two with
        C(--dry-run)) run in check mode too, since they change nothing.
      - A C(backup), C(restore) or C(rehearse) that would write is skipped, reporting what would have run.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Back up two buckets now, logging to the manual log
  backup_command:
    command: backup
    args: [--bucket, books, --bucket, apps]
    environment:
      MINIO_BACKUP_LOG: /var/log/minio-backup.manual.log
  register: run

- name: What a restore would do (read-only, also in check mode)
  backup_command:
    command: restore
    args: [--bucket, books, --prefix, book-001/, --to-bucket, books-restored, --dry-run]
  register: plan

- name: Restore in place with the restore key from the controller's vault
  backup_command:
    command: restore
    args: [--bucket, books, --prefix, book-001/]
    restore_access_key: "{{ minio_restore_source_access_key }}"
    restore_secret_key: "{{ minio_restore_source_secret_key }}"
- name: Restore drill; its verdicts are judged by the next task
  backup_command:
    command: drill
    args: [--samples, "5"]
    ok_codes: [0, 1]
  register: drill
"""

RETURN = r"""
result:
  description:
    - The program's JSON document, parsed; null when it printed none (e.g. refused arguments) or O(json) is false.
  returned: always
  type: raw
  sample: {"verdict": "ok", "exit_code": 0, "reason": null, "results": {"books": {"objects": 3}}}
rc:
  description: The program's exit code; null when the command was skipped in check mode.
  returned: always
  type: int
  sample: 0
reason:
  description: Why the command failed - the document's C(reason), else the last line on stderr; null when it succeeded.
  returned: always
  type: str
  sample: "target bucket dream-central-storage-backups: access denied"
cmd:
  description: The command line that was run (it holds no secrets; those are in the env file).
  returned: always
  type: list
  elements: str
  sample: [/usr/local/bin/dream-backup, backup, --json, --bucket, books]
stdout:
  description: What the program printed on stdout.
  returned: always
  type: str
stdout_lines:
  description: C(stdout) split into lines.
  returned: always
  type: list
  elements: str
stderr:
  description: What the program printed on stderr.
  returned: always
  type: str
stderr_lines:
  description: C(stderr) split into lines.
  returned: always
  type: list
  elements: str
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule

COMMANDS = ["backup", "drill", "check", "ls", "restore", "versions", "trash-report", "inspect-book",
            "verify-content", "rehearse"]
WRITING = ("backup", "restore", "rehearse")
RESTORE_KEY = {"MINIO_RESTORE_ACCESS_KEY": "restore_access_key", "MINIO_RESTORE_SECRET_KEY": "restore_secret_key"}


def writes(command: str, args: list[str]) -> bool:
    return command in WRITING and "--dry-run" not in args


def parse(stdout: str):
    try:
        return json.loads(stdout) if stdout.strip() else None
    except ValueError:
        return None


def derive_changed(command: str, args: list[str], document) -> bool:
    if not writes(command, args) or not isinstance(document, dict):
        return False
    if command == "backup":
        results = document.get("results") or {}
        return sum(int(r.get("objects") or 0) for r in results.values() if isinstance(r, dict)) > 0
    if command == "rehearse":  # it wrote into the scratch bucket (and removed it again)
        return int(document.get("objects") or 0) > 0 and document.get("copy_seconds") is not None
    return int(document.get("restored") or 0) > 0


def derive_reason(document, stderr: str, failed: bool) -> str | None:
    if isinstance(document, dict) and document.get("reason"):
        return str(document["reason"])
    if not failed:
        return None
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return lines[-1] if lines else "no reason given (nothing on stderr)"


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "program": {"type": "path", "default": "/usr/local/bin/dream-backup"},
            "command": {"type": "str", "required": True, "choices": COMMANDS},
            "args": {"type": "list", "elements": "str", "default": []},
            "json": {"type": "bool", "default": True},
            "environment": {"type": "dict", "default": {}},
            "ok_codes": {"type": "list", "elements": "int", "default": [0]},
            "restore_access_key": {"type": "str", "default": "", "no_log": True},
            "restore_secret_key": {"type": "str", "default": "", "no_log": True},
        },
        supports_check_mode=True,
    )
    params = module.params
    command, args = params["command"], params["args"]
    argv = [params["program"], command] + (["--json"] if params["json"] else []) + args
    empty = {"result": None, "rc": None, "reason": None, "cmd": argv, "stdout": "", "stdout_lines": [],
             "stderr": "", "stderr_lines": []}
    # A path (not a bare name): the task must run the installed program, not whatever PATH offers.
    if not os.path.isfile(params["program"]) or not os.access(params["program"], os.X_OK):
        module.fail_json(msg=f"{params['program']} is missing or not executable: provision the host with "
                             "playbooks/site.yml", **empty)
    if module.check_mode and writes(command, args):
        # failed=False said outright: Ansible takes a result with a non-zero rc and no "failed" as a failure.
        module.exit_json(changed=False, skipped=True, failed=False,
                         msg=f"check mode: {command} would write; not run (add --dry-run to see its plan)", **empty)

    environ = {str(k): str(v) for k, v in params["environment"].items()}
    # The restore key reaches the program through its environment alone (root's /proc/PID/environ).
    environ.update({name: params[option] for name, option in RESTORE_KEY.items() if params[option]})
    rc, stdout, stderr = module.run_command(argv, environ_update=environ, check_rc=False)
    document = parse(stdout) if params["json"] else None
    failed = rc not in params["ok_codes"]
    result = {"result": document, "rc": rc, "reason": derive_reason(document, stderr, failed), "cmd": argv,
              "stdout": stdout, "stdout_lines": stdout.splitlines(), "stderr": stderr,
              "stderr_lines": stderr.splitlines(), "changed": derive_changed(command, args, document)}
    if failed:
        module.fail_json(msg=f"dream-backup {command} exited {rc}: {result['reason']}", **result)
    if params["json"] and document is None:
        module.fail_json(msg=f"dream-backup {command} exited {rc} but printed no JSON document", **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
