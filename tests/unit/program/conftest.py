"""Unit tests of the backup program's pure parts import its sources (the zipapp is built from them)."""

from __future__ import annotations

import sys

from tests.support.program import REPO

SOURCES = str(REPO / "roles" / "minio_backup" / "files" / "src")
if SOURCES not in sys.path:
    sys.path.insert(0, SOURCES)
