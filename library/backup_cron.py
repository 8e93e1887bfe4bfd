#!/usr/bin/python
"""Ansible module backup_cron: writes a job file into /etc/cron.d."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: backup_cron
short_description: Write a cron.d job file for the backup
description:
  - Writes C(<cron_dir>/<name>) with optional environment lines and one job line
    C(<schedule> <user> <command> >> <log> 2>&1), mode 0644 root:root, with a trailing newline.
  - The schedule is validated as cron reads it (ranges, lists, steps, month and day names, C(@daily)...).
  - C(%) in the command and the log path is escaped as C(\%) (cron would cut the command there and
    feed the rest to it as stdin); a backslash right before a C(%) cannot be written for cron and is refused.
  - No value may contain a control or other non-printable character (newline, carriage return, tab,
    form feed, NUL, U+2028...), as each would break the job line or the file.
  - cron re-reads C(/etc/cron.d) by itself; no reload is needed.
version_added: "1.0.0"
author: Dream Central Storage operations (!UNKNOWN)
options:
  name:
    description: File name in I(cron_dir); letters, digits, C(_) and C(-) only (cron ignores other names).
    type: str
    required: true
  schedule:
    description: Five cron fields, or one of C(@reboot), C(@hourly), C(@daily), C(@weekly), C(@monthly), C(@yearly).
    type: str
  user:
    description: User the job runs as.
    type: str
    default: root
  command:
    description:
      - The command line of the job, run by C(/bin/sh -c) as I(user); it is written as given (a shell
        command line is the point), so it must come from the playbook, never from host data.
    type: str
  environment:
    description:
      - Variables set for the job (such as PATH, MAILTO, SHELL), written as C(NAME=value) lines.
      - cron sets them without a shell, so C($) and backquotes in a value are not expanded. A value
        cron would read differently (leading or trailing blanks, which it strips, or a leading quote,
        which it reads as quoting) is refused.
    type: dict
    default: {}
  log:
    description:
      - File that stdout and stderr of the job are appended to; empty for none.
      - An absolute, normalised path (no C(.), C(..), C(//) or trailing C(/)); it is shell-quoted in the
        job line, so spaces, C(;), C($) or quotes in it name a file and run nothing.
    type: str
    default: /var/log/minio-backup.cron.log
  state:
    description: Whether the file should exist.
    type: str
    choices: [present, absent]
    default: present
  cron_dir:
    description: Directory of the job file.
    type: path
    default: /etc/cron.d
extends_documentation_fragment:
  - dream.backup.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
"""

EXAMPLES = r"""
- name: Nightly backup at 02:17
  backup_cron:
    name: dream-storage-backup
    schedule: "17 2 * * *"
    command: /usr/local/bin/dream-backup.sh
    environment:
      PATH: /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

- name: Remove a job
  backup_cron:
    name: dream-storage-drill
    state: absent
"""

RETURN = r"""
path:
  description: Path of the job file.
  returned: always
  type: str
  sample: /etc/cron.d/dream-storage-backup
line:
  description: The job line as written.
  returned: when state is present
  type: str
  sample: "17 2 * * * root /usr/local/bin/dream-backup.sh >> /var/log/minio-backup.cron.log 2>&1"
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dream.backup.plugins.module_utils.dcs_cron import (
    ENV_NAME,
    NAME,
    percent_error,
    render,
    schedule_error,
)
from ansible_collections.dream.backup.plugins.module_utils.dcs_files import ensure_file, remove_file
from ansible_collections.dream.backup.plugins.module_utils.dcs_text import (
    CONTROL_REASON,
    absolute_path_error,
    has_control_characters,
)

HEADER = "Managed by Ansible (module backup_cron): local edits are replaced on the next run."


def fail_unless_printable(module, label, value):
    # Checked before any message shows the value: a control character would garble the message too.
    if has_control_characters(value):
        module.fail_json(msg=f"{label} {CONTROL_REASON}")


def run(module):
    p = module.params
    fail_unless_printable(module, "name", p["name"])
    if not NAME.match(p["name"]):
        module.fail_json(msg=f"name '{p['name']}': cron.d file names may only contain letters, digits, '_' and '-'")
    path = os.path.join(p["cron_dir"], p["name"])
    if not os.path.isdir(p["cron_dir"]):
        if module.check_mode:  # on a fresh host the cron package, installed earlier in the play, creates it
            module.exit_json(changed=p["state"] == "present", path=path)
        module.fail_json(msg=f"cron_dir {p['cron_dir']} does not exist (is cron installed?)")
    if p["state"] == "absent":
        module.exit_json(**remove_file(module, path))

    for field in ("schedule", "command"):
        if not p[field] or not p[field].strip():
            module.fail_json(msg=f"{field} is required when state is present")
    fail_unless_printable(module, "schedule", p["schedule"])
    reason = schedule_error(p["schedule"])
    if reason:
        module.fail_json(msg="schedule '{}': {}".format(p["schedule"], reason))
    fail_unless_printable(module, "user", p["user"])
    if not NAME.match(p["user"]):
        module.fail_json(msg="user '{}' is not a valid user name".format(p["user"]))
    environment = {str(k): str(v) for k, v in p["environment"].items()}
    for key, value in environment.items():
        if not ENV_NAME.match(key):
            module.fail_json(msg=f"environment name {key!r} is not a valid variable name")
        fail_unless_printable(module, f"environment {key}", value)
        if value != value.strip() or value.startswith(("'", '"')):
            module.fail_json(msg=f"environment {key}: cron strips blanks around a value and reads a leading "
                             "quote as quoting; give the value without them")
    fail_unless_printable(module, "command", p["command"])
    reason = percent_error(p["command"])
    if reason:
        module.fail_json(msg=f"command {reason}")
    if p["log"]:
        reason = absolute_path_error(p["log"], normalised=True) or percent_error(p["log"])
        if reason:
            module.fail_json(msg=f"log {reason}")

    text = render(p["schedule"], p["user"], p["command"], p["log"], environment, HEADER)
    result = ensure_file(module, path, text.encode(), 0o644, 0, 0)
    result["line"] = text.splitlines()[-1]
    module.exit_json(**result)


def main():
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "schedule": {"type": "str"},
            "user": {"type": "str", "default": "root"},
            "command": {"type": "str"},
            "environment": {"type": "dict", "default": {}},
            "log": {"type": "str", "default": "/var/log/minio-backup.cron.log"},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "cron_dir": {"type": "path", "default": "/etc/cron.d"},
        },
        supports_check_mode=True,
    )
    run(module)


if __name__ == "__main__":
    main()
