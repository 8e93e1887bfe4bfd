"""The backup program's own modules, imported from their sources (the zipapp is built from them)."""

from __future__ import annotations

import sys
from pathlib import Path

SOURCES = Path(__file__).resolve().parents[3] / "roles" / "minio_backup" / "files" / "src"
if str(SOURCES) not in sys.path:
    sys.path.insert(0, str(SOURCES))
