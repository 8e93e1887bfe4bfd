"""Builds roles/minio_backup/files/backup_minio.pyz, the file the install role ships: the dream_backup
package (src/dream_backup) as one executable zipapp.

Deterministic (sorted entries, fixed timestamps and modes), so the committed file can be compared with
a fresh build (tests/unit/repository/test_program_build.py) and its sha256 makes the install idempotent.

    python src/build.py [--check]
"""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACKAGE = HERE / "dream_backup"
REPO = HERE.parent
OUTPUT = REPO / "roles" / "minio_backup" / "files" / "backup_minio.pyz"
SHEBANG = b"#!/usr/bin/env python3\n"
MAIN = b"import sys\n\nfrom dream_backup.cli import main\n\nsys.exit(main())\n"
STAMP = (1980, 1, 1, 0, 0, 0)


def _add(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=STAMP)
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def build() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        _add(archive, "__main__.py", MAIN)
        for path in sorted(PACKAGE.rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            # read_bytes follows the envspec.py link to module_utils: one definition of the env file.
            _add(archive, path.relative_to(HERE).as_posix(), path.read_bytes())
        # The package's one data file: the collection's galaxy.yml, whose version the program reports.
        _add(archive, "dream_backup/galaxy_yml", (PACKAGE / "galaxy_yml").read_bytes())
    return SHEBANG + buffer.getvalue()


def main(argv: list[str]) -> int:
    data = build()
    if "--check" in argv:
        if OUTPUT.read_bytes() != data:
            print(f"{OUTPUT} is out of date: run 'make program'", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_bytes(data)
    OUTPUT.chmod(0o755)
    print(f"built {OUTPUT.relative_to(REPO)} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
