"""Every document the repository cites is in the repository: code and comments cite docs/, never the
inputs the project was specified from, which a reader of this repository does not have."""

from __future__ import annotations

import re
import subprocess

from tests.support.program import REPO

OUTSIDE = re.compile(r"\b(DESIGN|RUNBOOK|MC|ENVIRONMENT)\.md\b")
DOCS = re.compile(r"\bdocs/([A-Za-z0-9_.-]+\.md)\b")
# The zipapp is a build of the sources below it (checked by test_program_build); this file names the
# patterns it looks for.
SKIP = {"roles/minio_backup/files/backup_minio.pyz", "tests/unit/repository/test_repository_docs.py"}


def tracked_text_files() -> dict[str, str]:
    names = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    files = {}
    for name in names.splitlines():
        if name in SKIP:
            continue
        try:
            files[name] = (REPO / name).read_text(encoding="utf-8")
        except (UnicodeDecodeError, IsADirectoryError, FileNotFoundError):
            continue
    return files


def test_no_file_cites_a_document_outside_the_repository():
    found = [f"{name}:{number}: {line.strip()}" for name, text in tracked_text_files().items()
             for number, line in enumerate(text.splitlines(), 1) if OUTSIDE.search(line)]
    assert not found, "cite docs/ instead:\n" + "\n".join(found)


def test_every_cited_doc_exists():
    missing = sorted({f"{name}: docs/{doc}" for name, text in tracked_text_files().items()
                      for doc in DOCS.findall(text) if not (REPO / "docs" / doc).is_file()})
    assert not missing, "\n".join(missing)
