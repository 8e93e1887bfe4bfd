#!/usr/bin/python
"""Ansible module backup_systemd_timer: writes the backup's systemd service and timer units."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: backup_systemd_timer
short_description: Write the systemd service and timer that run the backup
description:
  - Writes C(<unit_dir>/<name>.service) (C(Type=oneshot), one C(ExecStart=) per command, run one after
    another and stopped at the first that fails, like C(&&)) and C(<unit_dir>/<name>.timer)
    (C(OnCalendar=), C(Persistent=true) so a run missed while the host was down happens at boot,
    C(RandomizedDelaySec=)), both mode 0644 root:root.
  - The service runs at C(Nice=) I(nice) with C(IOSchedulingClass=idle) under a read-only file system
    (C(ProtectSystem=strict)) except I(read_write_paths), with a private C(/tmp) (the engines' temporary
    directories); stdout and stderr are appended to I(log), the file a cron job would write.
  - The sandbox also keeps no capability (C(CapabilityBoundingSet=) empty), allows the
    C(@system-service) system calls only, hides home directories (C(ProtectHome=yes)), creates files
    private (C(UMask=0077)) and allows only C(AF_UNIX), C(AF_INET) and C(AF_INET6) sockets;
    C(systemd-analyze security) rates the service at most 3.0 (docs/systemd-sandbox.md).
  - Before anything is written, the new units are checked with C(systemd-analyze verify) in a private
    temporary directory, and I(on_calendar) and I(randomized_delay) with C(systemd-analyze calendar) and
    C(timespan); a unit systemd would reject is never installed. In check mode the check is left out
    when a command's program does not exist yet (a fresh host, where an earlier task installs it).
  - Enabling and starting the timer and C(systemctl daemon-reload) are left to C(ansible.builtin.systemd_service).
version_added: "1.0.0"
author: Dream Central Storage operations (!UNKNOWN)
options:
  name:
    description: Base name of both units; letters, digits, C(_) and C(-) only.
    type: str
    default: dream-backup
  description:
    description: The service's C(Description=); the timer's adds C(" (schedule)").
    type: str
    default: Dream Central Storage backup
  commands:
    description:
      - The commands the service runs, in order; each is an argument vector whose first word is an
        absolute path. Written with systemd's quoting (C(%) and C($) are escaped, so no specifier or
        variable is expanded).
    type: list
    elements: list
  on_calendar:
    description:
      - When the timer fires, as systemd reads C(OnCalendar=) (C(*-*-* 02:17:00), C(daily), C(Mon *-*-* 03:00)).
    type: str
  randomized_delay:
    description: C(RandomizedDelaySec=), a systemd time span (C(0), C(15min), C(1h)).
    type: str
    default: "0"
  on_failure:
    description:
      - A unit started when the service fails (C(OnFailure=)), e.g. C(notify-failure@%n.service); empty for none.
    type: str
    default: ""
  log:
    description: File that stdout and stderr of the service are appended to (absolute, normalised).
    type: str
    default: /var/log/minio-backup.cron.log
  read_write_paths:
    description:
      - Paths (files or directories) the service may write (log files, lock directory, metrics
        directory); everything else is read-only. A path that does not exist is skipped (the program
        then reports what it cannot write).
    type: list
    elements: str
    default: []
  nice:
    description: C(Nice=) of the service.
    type: int
    default: 10
  state:
    description: Whether the units should exist.
    type: str
    choices: [present, absent]
    default: present
  unit_dir:
    description: Directory of the unit files.
    type: path
    default: /etc/systemd/system
  verify:
    description: Check the units with systemd-analyze before writing them.
    type: bool
    default: true
extends_documentation_fragment:
  - dream.backup.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    description: Reports the units before and after a change when run with C(--diff).
    support: full
"""

EXAMPLES = r"""
- name: Nightly backup at 02:17 by a systemd timer
  backup_systemd_timer:
    commands: [[/usr/local/bin/dream-backup.sh]]
    on_calendar: "*-*-* 02:17:00"
    randomized_delay: 10min
    read_write_paths: [/var/log, /run/dream-backup]

- name: Remove the units (disable the timer first)
  backup_systemd_timer:
    state: absent
"""

RETURN = r"""
paths:
  description: Paths of the service and the timer unit.
  returned: always
  type: list
  elements: str
  sample: [/etc/systemd/system/dream-backup.service, /etc/systemd/system/dream-backup.timer]
service:
  description: Name of the service unit.
  returned: always
  type: str
  sample: dream-backup.service
timer:
  description: Name of the timer unit.
  returned: always
  type: str
  sample: dream-backup.timer
verified:
  description: Whether systemd-analyze checked the units in this run.
  returned: when state is present
  type: bool
"""

import os
import re
import shutil
import subprocess
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dream.backup.plugins.module_utils.dcs_files import ensure_file, remove_file
from ansible_collections.dream.backup.plugins.module_utils.dcs_text import (
    CONTROL_REASON,
    absolute_path_error,
    has_control_characters,
)

HEADER = "# Managed by Ansible (module backup_systemd_timer): local edits are replaced on the next run.\n"
NAME = re.compile(r"^[A-Za-z0-9_-]+$")
UNIT_NAME = re.compile(r"^[A-Za-z0-9:_.@%\\-]+\.(service|target)$")
# Paths written bare into unit settings: no blank, quote, backslash or specifier to interpret.
PLAIN_PATH = re.compile(r"^/[A-Za-z0-9._/@+,:=-]*$")
PLAIN_WORD = re.compile(r"^[A-Za-z0-9._/@+,:=-]+$")
# The sandbox (docs/systemd-sandbox.md). No capability at all: the job runs as root and touches only root's
# own files (the 0600 env file, the logs, the lock, state and metrics directories the role makes root's),
# which needs no CAP_DAC_OVERRIDE, CAP_FOWNER or CAP_CHOWN; another account's private file stays closed to it.
# ReadOnlyPaths=/run: with ProtectKernelTunables= or ProtectControlGroups= systemd 252 left /run writable
# under ProtectSystem=strict (seen in a container; harmless where strict already covers it); the lock's
# directory below it stays writable (ReadWritePaths=, the longer path, wins). No ProtectProc=invisible:
# hidepid exempts group root, so a root job would still see every process (it also reopened /run).
# No AF_NETLINK: glibc's getaddrinfo does without it. A refused system call fails with EPERM instead of
# killing the night's run. MemoryDenyWriteExecute suits CPython and the Go engines (rclone, mc).
HARDENING = """\
NoNewPrivileges=yes
CapabilityBoundingSet=
AmbientCapabilities=
SystemCallFilter=@system-service
SystemCallErrorNumber=EPERM
SystemCallArchitectures=native
MemoryDenyWriteExecute=yes
UMask=0077
PrivateTmp=yes
PrivateDevices=yes
PrivateMounts=yes
ProtectSystem=strict
ReadOnlyPaths=/run
ProtectHome=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictSUIDSGID=yes
RestrictRealtime=yes
RestrictNamespaces=yes
LockPersonality=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
"""


def exec_word(word):
    """One word of an ExecStart= line as systemd splits and expands it: % and $ stay literal."""
    if PLAIN_WORD.match(word):
        return word
    escaped = word.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%").replace("$", "$$")
    return f'"{escaped}"'


def render_service(p, commands):
    unit = [HEADER, "[Unit]\n", f"Description={p['description']}\n",
            "Wants=network-online.target\n", "After=network-online.target\n"]
    if p["on_failure"]:
        unit.append(f"OnFailure={p['on_failure']}\n")
    unit += ["\n[Service]\n", "Type=oneshot\n"]
    unit += ["ExecStart={}\n".format(" ".join(exec_word(w) for w in argv)) for argv in commands]
    # The job's output goes where the cron job's went, so one file stays the place to look.
    unit += [f"StandardOutput=append:{p['log']}\n", f"StandardError=append:{p['log']}\n",
             # The program bounds each engine call itself (BACKUP_TIMEOUT); systemd must not cut a long night short.
             "TimeoutStartSec=infinity\n", f"Nice={p['nice']}\n", "IOSchedulingClass=idle\n"]
    if p["read_write_paths"]:
        unit.append("ReadWritePaths={}\n".format(" ".join("-" + path for path in p["read_write_paths"])))
    unit.append(HARDENING)
    return "".join(unit)


def render_timer(p):
    return "".join([HEADER, "[Unit]\n", f"Description={p['description']} (schedule)\n",
                    "\n[Timer]\n", f"OnCalendar={p['on_calendar']}\n", "Persistent=true\n",
                    f"RandomizedDelaySec={p['randomized_delay']}\n",
                    "\n[Install]\n", "WantedBy=timers.target\n"])


def check_values(module, p):
    for field in ("description", "on_calendar", "randomized_delay", "on_failure", "log"):
        if p[field] is not None and has_control_characters(p[field]):
            module.fail_json(msg=f"{field} {CONTROL_REASON}")
    for field in ("on_calendar", "randomized_delay", "description"):
        if not p[field] or not p[field].strip():
            module.fail_json(msg=f"{field} is required when state is present")
    if "%" in p["description"]:
        module.fail_json(msg="description must not contain '%' (systemd reads it as a specifier)")
    if p["on_failure"] and not UNIT_NAME.match(p["on_failure"]):
        module.fail_json(msg=f"on_failure '{p['on_failure']}' is not a service or target unit name")
    reason = absolute_path_error(p["log"], normalised=True)
    if reason:
        module.fail_json(msg=f"log {reason}")
    paths = [("log", p["log"])] + [("read_write_paths", path) for path in p["read_write_paths"]]
    for field, path in paths:
        reason = absolute_path_error(path, normalised=True)
        if reason or not PLAIN_PATH.match(path):
            module.fail_json(msg=f"{field} '{path}' {reason or 'may only contain letters, digits and ._/@+,:=- here'}")
    commands = [[str(w) for w in argv] for argv in p["commands"] or []]
    if not commands:
        module.fail_json(msg="commands is required when state is present")
    for argv in commands:
        if not argv or any(has_control_characters(w) for w in argv):
            module.fail_json(msg=f"commands: each command is a non-empty list of words that {CONTROL_REASON}")
        if absolute_path_error(argv[0]) or not PLAIN_PATH.match(argv[0]):
            module.fail_json(msg=f"commands: '{argv[0]}' must be an absolute path of letters, digits and ._/@+,:=-")
    if not -20 <= p["nice"] <= 19:
        module.fail_json(msg="nice must be between -20 and 19")
    return commands


def analyze(analyzer, *args):
    proc = subprocess.run([analyzer, *args], capture_output=True, text=True, check=False, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "LANG": "C", "SYSTEMD_LOG_COLOR": "0"})
    return proc.returncode, (proc.stdout + proc.stderr).strip()


def verify(module, p, service, timer):
    analyzer = shutil.which("systemd-analyze", path="/usr/bin:/bin")
    if analyzer is None:
        module.fail_json(msg="systemd-analyze not found: is systemd installed on this host?")
    rc, out = analyze(analyzer, "calendar", p["on_calendar"])
    if rc != 0:
        module.fail_json(msg=f"on_calendar '{p['on_calendar']}' is not a systemd calendar expression: {out}")
    rc, out = analyze(analyzer, "timespan", p["randomized_delay"])
    if rc != 0:
        module.fail_json(msg=f"randomized_delay '{p['randomized_delay']}' is not a systemd time span: {out}")
    work = tempfile.mkdtemp(prefix="dream-backup-units.")
    try:
        paths = []
        for suffix, text in ((".service", service), (".timer", timer)):
            path = os.path.join(work, p["name"] + suffix)
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(text)
            paths.append(path)
        rc, out = analyze(analyzer, "verify", "--man=no", *paths)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if rc != 0:
        module.fail_json(msg=f"systemd-analyze verify refuses the units (nothing was written): {out}")


def run(module):
    p = module.params
    if not NAME.match(p["name"]):
        module.fail_json(msg=f"name '{p['name']}': letters, digits, '_' and '-' only")
    paths = [os.path.join(p["unit_dir"], p["name"] + suffix) for suffix in (".service", ".timer")]
    result = {"paths": paths, "service": p["name"] + ".service", "timer": p["name"] + ".timer"}
    if p["state"] == "absent":
        removed = [remove_file(module, path) for path in paths]
        result["changed"] = any(r["changed"] for r in removed)
        if module._diff:
            result["diff"] = [r["diff"] for r in removed]
        module.exit_json(**result)

    commands = check_values(module, p)
    service, timer = render_service(p, commands), render_timer(p)
    programs_missing = any(not os.path.exists(argv[0]) for argv in commands)
    result["verified"] = bool(p["verify"]) and not (module.check_mode and programs_missing)
    if result["verified"]:
        verify(module, p, service, timer)
    if not os.path.isdir(p["unit_dir"]):
        module.fail_json(msg=f"unit_dir {p['unit_dir']} does not exist (is systemd installed?)")
    written = [ensure_file(module, path, text.encode(), 0o644, 0, 0)
               for path, text in zip(paths, (service, timer), strict=True)]
    result["changed"] = any(r["changed"] for r in written)
    if module._diff:
        result["diff"] = [r["diff"] for r in written]
    module.exit_json(**result)


def main():
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "default": "dream-backup"},
            "description": {"type": "str", "default": "Dream Central Storage backup"},
            "commands": {"type": "list", "elements": "list"},
            "on_calendar": {"type": "str"},
            "randomized_delay": {"type": "str", "default": "0"},
            "on_failure": {"type": "str", "default": ""},
            "log": {"type": "str", "default": "/var/log/minio-backup.cron.log"},
            "read_write_paths": {"type": "list", "elements": "str", "default": []},
            "nice": {"type": "int", "default": 10},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "unit_dir": {"type": "path", "default": "/etc/systemd/system"},
            "verify": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    run(module)


if __name__ == "__main__":
    main()
