#!/usr/bin/env python3
"""Build the collection dream.backup from the repository's own files.

    python3 collection/build.py [--stage-only] [--out DIR]

The repository is the collection: collection/ansible_collections/dream/backup holds the collection's
own files (galaxy.yml, README.md, meta/, tests/) and links to the repository's folders
(plugins/modules -> library/, plugins/module_utils -> module_utils/, plugins/filter -> filter_plugins/,
plugins/doc_fragments -> doc_fragments/, roles/, playbooks/, CHANGELOG.md). ansible.cfg puts collection/
on the collections path, so the playbooks, Molecule and the tests run the very files the collection
ships, written once in the collection's spelling (roles, modules and filters as dream.backup.<name>,
shared code imported from ansible_collections.dream.backup.plugins.module_utils).

Building copies that tree with the links resolved (ansible-galaxy skips links that leave the
collection) into .cache/collection/ansible_collections/dream/backup, the path ansible-test needs, and
builds dist/dream-backup-VERSION.tar.gz with `ansible-galaxy collection build`. With --out DIR both go
below DIR instead (DIR/ansible_collections/…, DIR/dist/), so a test can build without touching the
tree `make sanity` reads. No file's text is changed. One name is: a collection's playbook is called by
its name (`ansible-playbook dream.backup.restore_drill`), which must be a Python identifier, so
playbooks/restore-drill.yml is copied as playbooks/restore_drill.yml.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
NAMESPACE, NAME = "dream", "backup"
FQCN = f"{NAMESPACE}.{NAME}"
SOURCE = REPO / "collection" / "ansible_collections" / NAMESPACE / NAME
STAGE_ROOT = REPO / ".cache" / "collection"
DIST = REPO / "dist"
SKIP = shutil.ignore_patterns("__pycache__", ".pytest_cache", "*.pyc")


class BuildError(Exception):
    pass


def playbook_name(path: Path) -> str:
    """The file name of a playbook in the collection: - becomes _, and the rest must be an identifier."""
    name = path.stem.replace("-", "_")
    if not name.isidentifier():
        raise BuildError(f"{path}: no playbook name in a collection can be made of {path.stem!r}")
    return f"{name}.yml"


def stage(stage_root: Path) -> Path:
    stage_dir = stage_root / "ansible_collections" / NAMESPACE / NAME
    shutil.rmtree(stage_dir.parent.parent, ignore_errors=True)
    stage_dir.parent.mkdir(parents=True)
    for entry in sorted(SOURCE.iterdir()):
        if not entry.exists():
            raise BuildError(f"{entry} links to {entry.readlink()}, which does not exist")
    # symlinks=False: every link is copied as the file or folder it points at.
    shutil.copytree(SOURCE, stage_dir, symlinks=False, ignore=SKIP)
    playbooks = stage_dir / "playbooks"
    for path in sorted(playbooks.glob("*.yml")):
        renamed = playbooks / playbook_name(path)
        if renamed != path:
            if renamed.exists():
                raise BuildError(f"{path.name} and {renamed.name} would be one playbook in the collection")
            path.rename(renamed)
    # ansible-test lists a collection's files with git when a .git is found above it, and the repository's
    # .gitignore hides .cache/: a repository of its own makes git list the staged files (as untracked
    # ones; nothing is committed). ansible-galaxy leaves .git out of the tarball.
    subprocess.run(["git", "init", "--quiet", str(stage_dir)], check=True)
    return stage_dir


def build(stage_dir: Path, dist: Path) -> Path:
    version = yaml.safe_load((stage_dir / "galaxy.yml").read_text(encoding="utf-8"))["version"]
    dist.mkdir(parents=True, exist_ok=True)
    # The ansible-galaxy beside this Python (the project's virtualenv) when there is one.
    beside = Path(sys.executable).parent / "ansible-galaxy"
    galaxy = str(beside) if beside.is_file() else "ansible-galaxy"
    subprocess.run([galaxy, "collection", "build", "--force", "--output-path", str(dist), str(stage_dir)],
                   check=True, stdout=subprocess.DEVNULL)
    tarball = dist / f"{NAMESPACE}-{NAME}-{version}.tar.gz"
    if not tarball.is_file():
        raise BuildError(f"ansible-galaxy did not write {tarball}")
    return tarball


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage-only", action="store_true", help="stage the collection, build no tarball")
    parser.add_argument("--out", type=Path, help="stage in DIR/ansible_collections, build into DIR/dist")
    args = parser.parse_args()
    out = args.out.resolve() if args.out else None
    try:
        stage_dir = stage(out or STAGE_ROOT)
        print(f"staged {FQCN} in {stage_dir}")
        if not args.stage_only:
            print(f"built {build(stage_dir, out / 'dist' if out else DIST)}")
    except BuildError as error:
        print(f"collection build failed: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
