"""dream-backup: mirrors MinIO buckets to an off-site S3 bucket, verifies the copy, and proves it with
restore drills. Runs on the VPS's python3 (3.11+) with the standard library only; talks to S3 only
through an engine binary (mc or rclone)."""

import pkgutil
import re

# The version is written once, in the collection's galaxy.yml. galaxy_yml here is a link to it (without
# the .yml suffix, so linters do not take this directory for a collection); src/build.py stores it in the
# zipapp, where pkgutil reads it as package data.
_GALAXY = (pkgutil.get_data(__name__, "galaxy_yml") or b"").decode("utf-8")
VERSION = re.search(r"^version:\s*(\S+)\s*$", _GALAXY, re.MULTILINE).group(1)
