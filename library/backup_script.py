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
  - The program travels as the I(program) argument (source text) or as I(program_b64) (any file, such
    as the zipapp the role ships, base64-encoded by C(ansible.builtin.slurp)); files are compared by
    sha256, so a second run with the same program changes nothing.
  - Refuses a host whose I(python) is older than 3.11, and compiles the new program with it before it
    replaces the old one (a program that does not compile is never installed).
  - Files are replaced atomically; on any failure the previous files stay.
version_added: "1.0.0"
author: Dream Central Storage operations (!UNKNOWN)
options:
  program:
    description: Source text of backup_minio.py. Exactly one of I(program) and I(program_b64) is required.
    type: str
  program_b64:
    description: The program file base64-encoded (a zipapp is binary), for example C(slurp)'s C(content).
    type: str
  bin_dir:
    description:
      - Directory the program, wrapper and link are installed into.
      - An absolute path without control characters (newline, carriage return, tab, form feed, U+2028...);
        the wrapper holds it shell-quoted, so spaces, C($) or quotes in it run nothing.
    type: path
    default: /usr/local/bin
  env_file:
    description:
      - Env file the wrapper passes to the program (a non-empty C(DREAM_BACKUP_ENV_FILE) overrides it at
        run time).
      - An absolute path without control characters; the wrapper holds it shell-quoted.
    type: path
    default: /etc/dream-central-storage/backup.env
  python:
    description:
      - Interpreter the wrapper runs the program with.
      - An absolute path without control characters; the wrapper holds it shell-quoted.
    type: path
    default: /usr/bin/python3
extends_documentation_fragment:
  - dream.backup.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: Shows the sha256 of the program and the text of the wrapper when they change, and the new link.
"""

EXAMPLES = r"""
- name: Install the backup program from source text
  backup_script:
    program: "{{ lookup('ansible.builtin.file', 'backup_minio_single_file.py') }}"

- name: Read the packaged zipapp on the controller
  ansible.builtin.slurp:
    src: "{{ role_path }}/files/backup_minio.pyz"
  delegate_to: localhost
  register: program

- name: Install it
  backup_script:
    program_b64: "{{ program.content }}"
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

import base64
import os
import shlex
import subprocess
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dream.backup.plugins.module_utils.dcs_facts import ENV_FILE
from ansible_collections.dream.backup.plugins.module_utils.dcs_files import ensure_file, sha256_bytes, sha256_file
from ansible_collections.dream.backup.plugins.module_utils.dcs_text import absolute_path_error

PROGRAM = "backup_minio.py"
WRAPPER = "dream-backup.sh"
LINK = "dream-backup"
# Every path is written shell-quoted (shlex.quote) and the env file default is a plain assignment, not
# the word of a ${VAR:-word} inside double quotes (whose quoting rules differ between shells).
WRAPPER_TEMPLATE = """#!/bin/sh
# Dream Central Storage backup: runs the backup program with the env file (installed by backup_script).
# DREAM_BACKUP_ENV_FILE may name another env file. Exit codes: see {program} --help.
env_file={env_file}
if [ -n "${{DREAM_BACKUP_ENV_FILE:-}}" ]; then
    env_file="$DREAM_BACKUP_ENV_FILE"
fi
exec {python} {program_path} --env-file "$env_file" "$@"
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


# Compiles a plain script, or every module inside a zipapp, without running any of it.
COMPILE_CHECK = """
import sys, zipfile
path = sys.argv[1]
if zipfile.is_zipfile(path):
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.endswith('.py'):
                compile(archive.read(name), name, 'exec')
else:
    with open(path, 'rb') as handle:
        compile(handle.read(), path, 'exec')
"""


def compiles(module, python, source, directory):
    """Compile the new program with the host's interpreter, from a temp file that is removed after."""
    fd, tmp = tempfile.mkstemp(prefix=".backup_minio.check.", suffix=".py", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(source)
        proc = subprocess.run([python, "-c", COMPILE_CHECK, tmp], capture_output=True, text=True, timeout=60,
                              check=False)
    finally:
        os.unlink(tmp)
    if proc.returncode != 0:
        module.fail_json(msg=f"the new backup program does not compile with {python}; the installed one is "
                         f"unchanged: {proc.stderr.strip()[-2000:]}")


def wrapper_text(python, bin_dir, env_file):
    return WRAPPER_TEMPLATE.format(python=shlex.quote(python), env_file=shlex.quote(env_file), program=PROGRAM,
                                   program_path=shlex.quote(os.path.join(bin_dir, PROGRAM)))


def run(module):
    p = module.params
    for field in ("bin_dir", "env_file", "python"):
        reason = absolute_path_error(p[field])
        if reason:
            module.fail_json(msg=f"{field} {reason}")
    bin_dir = p["bin_dir"]
    if p["program_b64"]:
        try:
            source = base64.b64decode(p["program_b64"], validate=True)
        except ValueError:
            module.fail_json(msg="program_b64 is not valid base64")
    else:
        source = p["program"].encode()
        if not source.endswith(b"\n"):
            source += b"\n"
    wrapper = wrapper_text(p["python"], bin_dir, p["env_file"]).encode()
    version = python_version(module, p["python"])
    program_path = os.path.join(bin_dir, PROGRAM)
    if not module.check_mode and sha256_file(program_path) != sha256_bytes(source):
        compiles(module, p["python"], source, bin_dir)

    program_diff = {"before": f"sha256: {sha256_file(program_path) or '(absent)'}\n",
                    "after": f"sha256: {sha256_bytes(source)}\n"}
    results = [ensure_file(module, program_path, source, 0o755, 0, 0, diff=program_diff),
               ensure_file(module, os.path.join(bin_dir, WRAPPER), wrapper, 0o755, 0, 0)]
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
            "program": {"type": "str"},
            "program_b64": {"type": "str"},
            "bin_dir": {"type": "path", "default": "/usr/local/bin"},
            "env_file": {"type": "path", "default": ENV_FILE},
            "python": {"type": "path", "default": "/usr/bin/python3"},
        },
        required_one_of=[("program", "program_b64")],
        mutually_exclusive=[("program", "program_b64")],
        supports_check_mode=True,
    )
    run(module)


if __name__ == "__main__":
    main()
