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
  - C(%) in the command is escaped (cron would read it as a newline).
  - cron re-reads C(/etc/cron.d) by itself; no reload is needed.
version_added: "1.0.0"
author: Dream Central Storage operations
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
    description: The command line of the job.
    type: str
  environment:
    description: Variables set for the job (such as PATH, MAILTO, SHELL), written as C(NAME=value) lines.
    type: dict
    default: {}
  log:
    description: File that stdout and stderr of the job are appended to; empty for none.
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
from ansible.module_utils.dcs_cron import ENV_NAME, NAME, render, schedule_error
from ansible.module_utils.dcs_files import ensure_file, remove_file

HEADER = "Managed by Ansible (module backup_cron): local edits are replaced on the next run."


def run(module):
    p = module.params
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
    reason = schedule_error(p["schedule"])
    if reason:
        module.fail_json(msg="schedule '{}': {}".format(p["schedule"], reason))
    if not NAME.match(p["user"]):
        module.fail_json(msg="user '{}' is not a valid user name".format(p["user"]))
    environment = {str(k): str(v) for k, v in p["environment"].items()}
    for key, value in environment.items():
        if not ENV_NAME.match(key):
            module.fail_json(msg=f"environment name '{key}' is not a valid variable name")
        if "\n" in value:
            module.fail_json(msg=f"environment {key} must not contain a newline")
    if "\n" in p["command"] or "\n" in p["log"]:
        module.fail_json(msg="command and log must be one line")
    if p["log"] and not p["log"].startswith("/"):
        module.fail_json(msg="log '{}' must be an absolute path".format(p["log"]))

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
