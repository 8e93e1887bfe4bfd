#!/usr/bin/python
"""Ansible module backup_env: writes the backup program's env file."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: backup_env
short_description: Write the Dream Central Storage backup env file
description:
  - Writes C(/etc/dream-central-storage/backup.env), the file the backup program and cron read, with the
    runbook's ten variables and the optional extensions.
  - The module owns the whole file; variables not given are removed.
  - Values are validated before anything is written; a message names the variable and never shows a
    secret value.
  - No value may contain a control or other non-printable character (anything Python's
    C(str.isprintable()) refuses, such as newline, carriage return, tab, form feed, NUL, U+2028 or
    zero-width space). The backup program reads the file line by line with the same rules, so such a value
    would make every run exit 2.
  - Values are double-quoted with C(\), C("), C($) and backquote escaped, so sourcing the file in bash
    is safe.
  - The file is replaced atomically; on any failure the previous file is untouched.
  - Secret values are masked in the diff, which shows whether a secret changed.
version_added: "1.0.0"
author: Dream Central Storage operations (!UNKNOWN)
options:
  path:
    description: Path of the env file. Its parent directory is created with mode 0700 when missing.
    type: path
    default: /etc/dream-central-storage/backup.env
  variables:
    description:
      - Variable name to value. The runbook's ten variables are required; unknown names are refused.
      - Lists are joined with commas (for C(MINIO_BACKUP_BUCKETS)); booleans become C(true)/C(false).
    type: dict
    required: true
  owner:
    description: Owner of the file.
    type: str
    default: root
  group:
    description: Group of the file.
    type: str
    default: root
  mode:
    description: Mode of the file, as an octal string.
    type: str
    default: "0600"
extends_documentation_fragment:
  - dream.backup.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
notes:
  - With C(BACKUP_ENGINE=mc) (the default) a secret containing C(:) is refused, because mc reads
    C(SECRET:TOKEN) in C(MC_HOST_*) variables.
"""

EXAMPLES = r"""
- name: Write the backup env file
  backup_env:
    variables:
      MINIO_SOURCE_ENDPOINT: https://minio.internal.example.com
      MINIO_SOURCE_ACCESS_KEY: "{{ vault_source_access_key }}"
      MINIO_SOURCE_SECRET_KEY: "{{ vault_source_secret_key }}"
      BACKUP_TARGET_ENDPOINT: https://s3.backup.example.com
      BACKUP_TARGET_ACCESS_KEY: "{{ vault_target_access_key }}"
      BACKUP_TARGET_SECRET_KEY: "{{ vault_target_secret_key }}"
      BACKUP_TARGET_BUCKET: dream-central-storage-backups
      MINIO_BACKUP_BUCKETS: [books, apps, trash]
      MINIO_BACKUP_LOG: /var/log/minio-backup.log
      MC_PATH: /usr/local/bin/mc
      BACKUP_ENGINE: rclone
  no_log: true
"""

RETURN = r"""
path:
  description: Path of the env file.
  returned: always
  type: str
  sample: /etc/dream-central-storage/backup.env
variables:
  description: The variables written, with secret values masked.
  returned: always
  type: dict
  sample: {"MINIO_SOURCE_SECRET_KEY": "********", "MINIO_BACKUP_BUCKETS": "books,apps,trash"}
sha256:
  description: sha256 of the file's content after the run (what it would be, in check mode).
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dream.backup.plugins.module_utils.dcs_backup_env import (
    MASK,
    SECRET_VARIABLES,
    masked,
    parse,
    render,
    validate,
)
from ansible_collections.dream.backup.plugins.module_utils.dcs_facts import ENV_FILE
from ansible_collections.dream.backup.plugins.module_utils.dcs_files import ensure_file, read_bytes, resolve_ids

HEADER = ("Dream Central Storage backup configuration. Managed by Ansible (module backup_env):\n"
          "local edits are replaced on the next run. Read by /usr/local/bin/dream-backup.sh.")


def normalise(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return "" if value is None else str(value)


def diff_view(variables, other):
    """Variables for the diff: secrets masked, with a marker when they differ from ``other``."""
    view = masked(variables)
    for name in SECRET_VARIABLES & set(variables):
        if name in other and other[name] != variables[name]:
            view[name] = MASK + " (changed)"
    return view


def run(module):
    params = module.params
    path = params["path"]
    variables = {str(k): normalise(v) for k, v in params["variables"].items()}
    # Only the secret values are hidden from every output; the rest stays readable in results and diffs.
    module.no_log_values.update(v for k, v in variables.items() if k in SECRET_VARIABLES and v)
    errors = validate(variables)
    if errors:
        module.fail_json(msg="invalid backup env variables: " + "; ".join(errors), errors=errors)
    try:
        mode = int(params["mode"], 8)
        uid, gid = resolve_ids(params["owner"], params["group"])
    except (ValueError, KeyError) as exc:
        module.fail_json(msg=f"backup_env: {exc}")

    content = render(variables, HEADER).encode()
    current = read_bytes(path)
    before_vars = parse(current.decode(errors="replace")) if current is not None else {}
    diff = {"before": render(diff_view(before_vars, variables), HEADER) if current is not None else "",
            "after": render(diff_view(variables, before_vars), HEADER)}
    result = ensure_file(module, path, content, mode, uid, gid, diff=diff, make_parent_mode=0o700)
    result["variables"] = masked(variables)
    module.exit_json(**result)


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "default": ENV_FILE},
            "variables": {"type": "dict", "required": True, "no_log": False},
            "owner": {"type": "str", "default": "root"},
            "group": {"type": "str", "default": "root"},
            "mode": {"type": "str", "default": "0600"},
        },
        supports_check_mode=True,
    )
    run(module)


if __name__ == "__main__":
    main()
