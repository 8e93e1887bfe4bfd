#!/usr/bin/env python3
"""Build the collection dream.backup from the repository's own files.

    python3 collection/build.py [--stage-only] [--out DIR]

Stages the collection in .cache/collection/ansible_collections/dream/backup (the path ansible-test
needs: it finds namespace and name in the directory names), then builds dist/dream-backup-VERSION.tar.gz
with `ansible-galaxy collection build`. With --out DIR both go below DIR instead
(DIR/ansible_collections/…, DIR/dist/), so a test can build without touching the tree `make sanity`
reads. The repository keeps its own layout, which playbooks, Molecule and the unit tests use through
ansible.cfg; the staging tree is a copy:

  collection/{galaxy.yml,*.md,meta/,tests/}       ->  the collection's top level
  library/*.py                                    ->  plugins/modules/
  module_utils/*.py                               ->  plugins/module_utils/
  filter_plugins/*.py                             ->  plugins/filter/
  roles/*/ (every role)                           ->  roles/
  playbooks/*.yml                                 ->  playbooks/ (- becomes _ in names)

Names change in the copy where a collection needs its own (besides the file names above), each by a
rewrite of lines, and the build fails when an import or a role reference is left unqualified:

- Shared module code. In the repository, modules import `ansible.module_utils.dcs_*` (ansible.cfg points
  module_utils at module_utils/). A collection's modules may only import shared code through the
  collection's namespace, so those import lines become
  `ansible_collections.dream.backup.plugins.module_utils.dcs_*`. The rewrite is done here rather than in
  the sources because the top-level library/ must keep working without the collection installed.
- Filters. Ansible resolves a module's short name inside a role of the same collection, but a Jinja
  filter needs its full name, so `| backup_path_clashes(` becomes `| dream.backup.backup_path_clashes(`
  in the roles' YAML.
- Roles. In playbooks and in the roles' own files (meta dependencies, include_role), `role: minio_backup`
  and `include_role`'s `name:` become `dream.backup.<role>`, so the collection's playbooks and roles run
  the collection's roles whatever else is on the roles path.

Modules called by short name inside the roles stay as they are: a role inside a collection searches its
own collection first, which is what the top-level roles get from library/.

The program's sources (src/dream_backup) are not shipped: the role installs the zipapp built
from them (files/backup_minio.py), which is shipped as files/backup_minio.pyz (see ZIPAPP below).
"""

from __future__ import annotations

import argparse
import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "collection"
STAGE_ROOT = REPO / ".cache" / "collection"
DIST = REPO / "dist"
NAMESPACE, NAME = "dream", "backup"
FQCN = f"{NAMESPACE}.{NAME}"
UTILS_PACKAGE = f"ansible_collections.{NAMESPACE}.{NAME}.plugins.module_utils"

# `from ansible.module_utils.dcs_x import ...` and `import ansible.module_utils.dcs_x` at any indent.
UTILS_IMPORT = re.compile(r"^(\s*)(from|import)\s+ansible\.module_utils\.(dcs_\w+)\b", re.MULTILINE)
ROLE_SKIP = ("__pycache__", ".pytest_cache")
# The program ships as a zipapp named backup_minio.py, its name on the host. ansible-test reads every *.py
# as Python source (compile, pep8 and pylint break on a zip archive), so in the collection the file is
# files/backup_minio.pyz, the usual name of a zipapp, and the role's files that name it say so.
ZIPAPP_ROLE, ZIPAPP, ZIPAPP_SHIPPED = "minio_backup", "files/backup_minio.py", "files/backup_minio.pyz"


class BuildError(Exception):
    pass


def rewrite_python(text: str, path: Path) -> str:
    text = UTILS_IMPORT.sub(lambda m: f"{m.group(1)}{m.group(2)} {UTILS_PACKAGE}.{m.group(3)}", text)
    if "ansible.module_utils.dcs_" in text:
        raise BuildError(f"{path}: an import of ansible.module_utils.dcs_* the build cannot rewrite")
    return text


def filter_names(directory: Path) -> list[str]:
    """The filters each filter plugin file returns from FilterModule.filters(), read from its source."""
    names = []
    for path in sorted(directory.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and node.name == "filters":
                for returned in ast.walk(node):
                    if isinstance(returned, ast.Return) and isinstance(returned.value, ast.Dict):
                        names += [key.value for key in returned.value.keys if isinstance(key, ast.Constant)]
    return names


def rewrite_filters(text: str, filters: list[str]) -> str:
    for name in filters:
        text = re.sub(rf"\|\s*{re.escape(name)}\b", f"| {FQCN}.{name}", text)
    return text


def rewrite_roles(text: str, roles: list[str], path: Path) -> str:
    """`role: NAME` anywhere and `name: NAME` inside an include_role/import_role block -> the role's FQCN."""
    out, block_indent = [], None
    alternatives = "|".join(re.escape(role) for role in sorted(roles, key=len, reverse=True))
    role_line = re.compile(rf"^(\s*(?:-\s+)?role:\s+)({alternatives})(\s*(?:#.*)?)$")
    name_line = re.compile(rf"^(\s*name:\s+)({alternatives})(\s*(?:#.*)?)$")
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\n")
        ending = line[len(body):]
        indent = len(body) - len(body.lstrip())
        if block_indent is not None and body.strip() and indent <= block_indent:
            block_indent = None
        match = role_line.match(body) or (name_line.match(body) if block_indent is not None else None)
        if match:
            body = f"{match.group(1)}{FQCN}.{match.group(2)}{match.group(3)}"
        if re.search(r"\b(include_role|import_role):\s*$", body):
            block_indent = indent
        out.append(body + ending)
    text = "".join(out)
    left = re.search(rf"^\s*(?:-\s+)?role:\s+(?:{alternatives})\s*(?:#.*)?$", text, re.MULTILINE)
    if left:
        raise BuildError(f"{path}: role reference the build did not qualify: {left.group(0).strip()}")
    return text


def playbook_name(path: Path) -> str:
    """A collection's playbook is called by its name (`ansible-playbook dream.backup.restore_drill`), which
    must be a Python identifier: restore-drill.yml is restore_drill.yml in the collection."""
    name = path.stem.replace("-", "_")
    if not name.isidentifier():
        raise BuildError(f"{path}: no playbook name in a collection can be made of {path.stem!r}")
    return f"{name}.yml"


def rename_zipapp(role_dir: Path) -> None:
    (role_dir / ZIPAPP).rename(role_dir / ZIPAPP_SHIPPED)
    readers = 0
    for path in sorted(role_dir.glob("[dtv]*/*.yml")):  # defaults/, tasks/, vars/
        text = path.read_text(encoding="utf-8")
        renamed = re.sub(rf"/{re.escape(ZIPAPP)}\b(?!z)", f"/{ZIPAPP_SHIPPED}", text)
        readers += renamed != text
        path.write_text(renamed, encoding="utf-8")
    if not readers:
        raise BuildError(f"no file of role {ZIPAPP_ROLE} names {ZIPAPP}: the rename to {ZIPAPP_SHIPPED} is stale")


def copy_tree(source: Path, target: Path, transform=None) -> None:
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if any(part in relative.as_posix() for part in ROLE_SKIP) or path.is_dir():
            continue
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        if transform and path.suffix in (".yml", ".yaml"):
            destination.write_text(transform(path.read_text(encoding="utf-8"), path), encoding="utf-8")
        else:
            shutil.copy2(path, destination)


def stage(stage_root: Path) -> Path:
    stage_dir = stage_root / "ansible_collections" / NAMESPACE / NAME
    shutil.rmtree(stage_dir.parent.parent, ignore_errors=True)
    stage_dir.mkdir(parents=True)
    # ansible-test lists a collection's files with git when a .git is found above it, and the repository's
    # .gitignore hides .cache/: a repository of its own makes git list the staged files (as untracked
    # ones; nothing is committed). ansible-galaxy leaves .git out of the tarball.
    subprocess.run(["git", "init", "--quiet", str(stage_dir)], check=True)
    for name in ("galaxy.yml", "README.md"):
        shutil.copy2(SOURCE / name, stage_dir / name)
    shutil.copy2(REPO / "CHANGELOG.md", stage_dir / "CHANGELOG.md")  # at the root: it covers the whole repository
    for name in ("meta", "tests"):
        shutil.copytree(SOURCE / name, stage_dir / name)

    for source, target in (("library", "plugins/modules"), ("module_utils", "plugins/module_utils"),
                           ("filter_plugins", "plugins/filter")):
        (stage_dir / target).mkdir(parents=True)
        for path in sorted((REPO / source).glob("*.py")):
            (stage_dir / target / path.name).write_text(rewrite_python(path.read_text(encoding="utf-8"), path),
                                                        encoding="utf-8")

    # Every role by glob: roles come and go (and get renamed) without touching this file.
    roles = sorted(path.parent.parent.name for path in (REPO / "roles").glob("*/meta/main.yml"))
    filters = filter_names(REPO / "filter_plugins")
    for role in roles:
        copy_tree(REPO / "roles" / role, stage_dir / "roles" / role,
                  lambda text, path: rewrite_roles(rewrite_filters(text, filters), roles, path))
    rename_zipapp(stage_dir / "roles" / ZIPAPP_ROLE)
    (stage_dir / "playbooks").mkdir()
    for path in sorted((REPO / "playbooks").glob("*.yml")):
        text = rewrite_roles(path.read_text(encoding="utf-8"), roles, path)
        (stage_dir / "playbooks" / playbook_name(path)).write_text(text, encoding="utf-8")
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
