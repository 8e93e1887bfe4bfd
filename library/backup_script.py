#!/usr/bin/python
"""Ansible module backup_script: installs the backup program, its wrapper and the dream-backup name."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: backup_script
short_description: Install the Dream Central Storage backup program and its wrapper
description:
  - Installs C(backup_minio.py) and the wrapper C(dream-backup.sh) into I(bin_dir) with mode 0755
    root:root, and the name C(dream-backup) as a symlink to the wrapper (the runbook's manual command).
  - The program's source travels as the I(program) argument; files are compared by sha256, so a second
    run with the same source changes nothing.
  - Refuses a host whose I(python) is older than 3.11, and compiles the new program with it before it
    replaces the old one (a program that does not compile is never installed).
  - Files are replaced atomically; on any failure the previous files stay.
version_added: "1.0.0"
author: Dream Central Storage operations
options:
  program:
    description: Source text of backup_minio.py (for example from C(lookup('file', ...))).
    type: str
    required: true
  bin_dir:
    description: Directory the program, wrapper and link are installed into.
    type: path
    default: /usr/local/bin
  env_file:
    description: Env file the wrapper passes to the program (C(DREAM_BACKUP_ENV_FILE) overrides it at run time).
    type: path
    default: /etc/dream-central-storage/backup.env
  python:
    description: Interpreter the wrapper runs the program with.
    type: path
    default: /usr/bin/python3
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: Shows the text of each changed file and the new link.
"""

EXAMPLES = r"""
- name: Install the backup program
  backup_script:
    program: "{{ lookup('ansible.builtin.file', 'backup_minio.py') }}"
"""

RETURN = r"""
files:
  description: Installed paths and their sha256.
  returned: always
  type: dict
  sample: {"/usr/local/bin/backup_minio.py": "3f1c...", "/usr/local/bin/dream-backup.sh": "9ab2..."}
python_version:
  description: Version of the interpreter on the host.
  returned: always
  type: str
  sample: "3.11.2"
"""

import os
import subprocess
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.dcs_files import ensure_file, sha256_bytes, sha256_file

PROGRAM = "backup_minio.py"
WRAPPER = "dream-backup.sh"
LINK = "dream-backup"
WRAPPER_TEMPLATE = """#!/bin/sh
# Dream Central Storage backup: runs the backup program with the env file (installed by backup_script).
# DREAM_BACKUP_ENV_FILE may name another env file. Exit codes: see {program} --help.
exec {python} {bin_dir}/{program} --env-file "${{DREAM_BACKUP_ENV_FILE:-{env_file}}}" "$@"
"""


def python_version(module, python):
    try:
        proc = subprocess.run([python, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                              capture_output=True, text=True, timeout=30, check=False)
    except OSError as exc:
        module.fail_json(msg=f"cannot run {python}: {exc}; the backup program needs Python 3.11+")
    version = proc.stdout.strip()
    major_minor = tuple(int(x) for x in version.split(".")[:2]) if proc.returncode == 0 and version else (0, 0)
    if major_minor < (3, 11):
        module.fail_json(msg=f"{python} is Python {version or 'unknown'}; the backup program needs 3.11 or newer")
    return version


def compiles(module, python, source, directory):
    """Compile the new program with the host's interpreter, from a temp file that is removed after."""
    fd, tmp = tempfile.mkstemp(prefix=".backup_minio.check.", suffix=".py", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(source)
        proc = subprocess.run([python, "-c", "import sys; compile(open(sys.argv[1], 'rb').read(), "
                               "sys.argv[1], 'exec')", tmp], capture_output=True, text=True, timeout=60, check=False)
    finally:
        os.unlink(tmp)
    if proc.returncode != 0:
        module.fail_json(msg=f"the new backup program does not compile with {python}; the installed one is "
                         f"unchanged: {proc.stderr.strip()[-2000:]}")


def run(module):
    p = module.params
    bin_dir = p["bin_dir"]
    source = p["program"].encode()
    if not source.endswith(b"\n"):
        source += b"\n"
    wrapper = WRAPPER_TEMPLATE.format(python=p["python"], bin_dir=bin_dir, program=PROGRAM,
                                      env_file=p["env_file"]).encode()
    version = python_version(module, p["python"])
    program_path = os.path.join(bin_dir, PROGRAM)
    if not module.check_mode and sha256_file(program_path) != sha256_bytes(source):
        compiles(module, p["python"], source, bin_dir)

    results = [ensure_file(module, os.path.join(bin_dir, name), content, 0o755, 0, 0)
               for name, content in ((PROGRAM, source), (WRAPPER, wrapper))]
    link = os.path.join(bin_dir, LINK)
    link_ok = os.path.islink(link) and os.readlink(link) == WRAPPER
    if not link_ok and not module.check_mode:
        fd, tmp = tempfile.mkstemp(prefix=".dream-backup.", dir=bin_dir)
        os.close(fd)
        os.unlink(tmp)
        os.symlink(WRAPPER, tmp)
        os.replace(tmp, link)

    result = {
        "changed": any(r["changed"] for r in results) or not link_ok,
        "files": {r["path"]: r["sha256"] for r in results},
        "python_version": version,
    }
    if module._diff:
        result["diff"] = [r["diff"] for r in results if r["changed"]]
        if not link_ok:
            result["diff"].append({"before": "", "after": f"{link} -> {WRAPPER}\n",
                                   "before_header": link, "after_header": link})
    module.exit_json(**result)


def main():
    module = AnsibleModule(
        argument_spec={
            "program": {"type": "str", "required": True},
            "bin_dir": {"type": "path", "default": "/usr/local/bin"},
            "env_file": {"type": "path", "default": "/etc/dream-central-storage/backup.env"},
            "python": {"type": "path", "default": "/usr/bin/python3"},
        },
        supports_check_mode=True,
    )
    run(module)


if __name__ == "__main__":
    main()
