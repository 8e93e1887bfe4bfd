#!/usr/bin/python
"""Ansible module minio_client: installs the MinIO client (mc), verified by sha256."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: minio_client
short_description: Install the MinIO client C(mc), verified by sha256
description:
  - Installs the MinIO client binary at I(dest), from I(url) (default the GitHub release asset of the
    final release, RELEASE.2025-08-13T08-35-41Z, for the host's architecture) or from I(src), a file
    already on the host.
  - Nothing is downloaded when I(dest) already has the wanted sha256.
  - The download goes to a temporary file next to I(dest); its sha256 is checked first, then the first
    line of its C(--version) output must be the MinIO client's C(<name> version RELEASE.<tag>) (mc prints
    the file name it was started as, so the temporary file says C(.mc.XXXX version RELEASE...)), and
    only then is it renamed into place with mode 0755 root:root. On any failure the previous binary is
    untouched.
  - An existing I(dest) that is not the MinIO client (on Debian the C(mc) package is Midnight Commander)
    is refused unless I(force=true).
  - dl.min.io answers HTTP 410 since the project was archived; use the GitHub asset or a mirror.
version_added: "1.0.0"
author: Dream Central Storage operations (!UNKNOWN)
options:
  url:
    description: Where to download the binary. Default the GitHub release asset for the host's architecture.
    type: str
  src:
    description: A file already on the host to install instead of downloading (air-gapped fleets).
    type: path
  checksum:
    description:
      - Expected sha256 of the binary, 64 hex digits (the install role carries the published sums).
      - Also accepted in the form M(ansible.builtin.get_url) takes, C(sha256:<64 hex digits>); no other
        algorithm is.
    type: str
    required: true
  dest:
    description: Where the binary is installed.
    type: path
    default: /usr/local/bin/mc
  force:
    description: Replace an existing I(dest) even when it is not the MinIO client.
    type: bool
    default: false
  release:
    description: Release tag used to build the default I(url).
    type: str
    default: RELEASE.2025-08-13T08-35-41Z
  timeout:
    description: Download timeout in seconds.
    type: int
    default: 120
  validate_certs:
    description: Verify the TLS certificate of I(url).
    type: bool
    default: true
extends_documentation_fragment:
  - dream.backup.attributes
attributes:
  check_mode:
    support: full
    details: In check mode nothing is downloaded; C(changed) says whether an install would happen.
  diff_mode:
    support: full
    details: The diff shows the old and new sha256.
"""

EXAMPLES = r"""
- name: Install mc from the GitHub release asset
  minio_client:
    checksum: 01f866e9c5f9b87c2b09116fa5d7c06695b106242d829a8bb32990c00312e891

- name: Install mc from an internal mirror
  minio_client:
    url: https://artifacts.example.com/mc/mc.linux-amd64.RELEASE.2025-08-13T08-35-41Z
    checksum: 01f866e9c5f9b87c2b09116fa5d7c06695b106242d829a8bb32990c00312e891
"""

RETURN = r"""
dest:
  description: Path of the binary.
  returned: always
  type: str
  sample: /usr/local/bin/mc
checksum:
  description: sha256 of the installed binary.
  returned: always
  type: str
version:
  description: The release tag the binary reports (empty in check mode before an install).
  returned: always
  type: str
  sample: RELEASE.2025-08-13T08-35-41Z
url:
  description: The URL used (when downloading).
  returned: when src is not given
  type: str
"""

import hashlib
import os
import platform
import re
import shutil
import subprocess
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import fetch_url
from ansible_collections.dream.backup.plugins.module_utils.dcs_files import sha256_file

ARCHES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
          "ppc64le": "ppc64le", "s390x": "s390x"}
URL = "https://github.com/minio/mc/releases/download/{release}/mc.linux-{arch}.{release}"
# mc names itself by the basename of its argv[0]: any name, then " version RELEASE.<tag>", on line one.
VERSION_LINE = re.compile(r"^\S+ version (RELEASE\.\S+)")
CHUNK = 1024 * 1024


def default_url(module, release):
    machine = platform.machine()
    arch = ARCHES.get(machine)
    if arch is None:
        module.fail_json(msg=f"no MinIO client build for architecture '{machine}' (known: x86_64, aarch64, "
                         "ppc64le, s390x); give url or src")
    return URL.format(release=release, arch=arch)


def mc_version(path):
    """The release tag ``path --version`` reports, or None if it is not the MinIO client."""
    try:
        proc = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30, check=False,
                              env={"PATH": "/usr/bin:/bin", "LANG": "C", "HOME": "/nonexistent"})
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = VERSION_LINE.match(proc.stdout.partition("\n")[0])
    return match.group(1) if match and proc.returncode == 0 else None


def download(module, url, handle):
    resp, info = fetch_url(module, url, timeout=module.params["timeout"])
    status = info.get("status", -1)
    if status != 200 or resp is None:
        hint = ""
        if status == 410 or "dl.min.io" in url:
            hint = (" dl.min.io answers 410 Gone for every mc path since the project was archived; "
                    "use the GitHub release asset (the default url) or an internal mirror")
        module.fail_json(msg="downloading {} failed: HTTP {} {}.{}".format(url, status, info.get("msg", ""), hint),
                         status=status)
    digest = hashlib.sha256()
    for block in iter(lambda: resp.read(CHUNK), b""):
        digest.update(block)
        handle.write(block)
    return digest.hexdigest()


def run(module):
    p = module.params
    checksum = p["checksum"].strip().lower()
    # get_url's spelling, ALGORITHM:HEX, for sha256 only: a weaker algorithm is not a choice here.
    checksum = checksum.removeprefix("sha256:")
    if not re.fullmatch(r"[0-9a-f]{64}", checksum):
        module.fail_json(msg="checksum must be a sha256 of 64 hex digits, alone or as sha256:<hex>")
    dest = p["dest"]
    url = None if p["src"] else (p["url"] or default_url(module, p["release"]))
    current = sha256_file(dest)
    result = {"dest": dest, "checksum": checksum, "changed": False, "version": ""}
    if url:
        result["url"] = url
    if module._diff:
        result["diff"] = {"before": "sha256: %s\n" % (current or "(absent)"), "after": f"sha256: {checksum}\n",
                          "before_header": dest, "after_header": dest}
    if current == checksum:
        result["version"] = mc_version(dest) or ""
        module.exit_json(**result)
    if current is not None and not p["force"] and mc_version(dest) is None:
        module.fail_json(msg=f"{dest} exists and is not the MinIO client (Debian's 'mc' package is Midnight "
                         "Commander); refusing to replace it. Remove it or set force: true.")
    result["changed"] = True
    if module.check_mode:
        module.exit_json(**result)

    directory = os.path.dirname(dest)
    fd, tmp = tempfile.mkstemp(prefix=".mc.", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            if url:
                got = download(module, url, handle)
            else:
                if not os.path.isfile(p["src"]):
                    module.fail_json(msg="src {} does not exist on the host".format(p["src"]))
                with open(p["src"], "rb") as src:
                    shutil.copyfileobj(src, handle, CHUNK)
                got = None
            handle.flush()
            os.fsync(handle.fileno())
        got = got or sha256_file(tmp)
        if got != checksum:
            module.fail_json(msg=f"sha256 mismatch for {url or p['src']}: expected {checksum}, got {got}; "
                             "nothing installed")
        os.chmod(tmp, 0o755)  # noqa: S103 - an executable in /usr/local/bin is world-executable
        version = mc_version(tmp)
        if version is None:
            module.fail_json(msg="%s is not the MinIO client: the first line of '--version' is not "
                             "'<name> version RELEASE.<tag>'; nothing installed" % (url or p["src"]))
        os.chown(tmp, 0, 0)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    result["version"] = version
    module.exit_json(**result)


def main():
    module = AnsibleModule(
        argument_spec={
            "url": {"type": "str"},
            "src": {"type": "path"},
            "checksum": {"type": "str", "required": True},
            "dest": {"type": "path", "default": "/usr/local/bin/mc"},
            "force": {"type": "bool", "default": False},
            "release": {"type": "str", "default": "RELEASE.2025-08-13T08-35-41Z"},
            "timeout": {"type": "int", "default": 120},
            "validate_certs": {"type": "bool", "default": True},
        },
        mutually_exclusive=[("url", "src")],
        supports_check_mode=True,
    )
    run(module)


if __name__ == "__main__":
    main()
