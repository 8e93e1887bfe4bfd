"""execution-environment.yml builds an execution environment with the collection `make collection` builds,
the controller's Python requirements and rclone: `ansible-builder create` writes its build context (no
image is built), and the context's collection requirement installs the collection."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

from tests.support.program import GALAXY, REPO

EE = REPO / "execution-environment.yml"
BIN = Path(sys.executable).parent


def definition() -> dict:
    return yaml.safe_load(EE.read_text(encoding="utf-8"))


def galaxy_version() -> str:
    return yaml.safe_load(GALAXY.read_text(encoding="utf-8"))["version"]


def pinned(requirements: Path, name: str) -> str:
    lines = [line.strip() for line in requirements.read_text(encoding="utf-8").splitlines()]
    return next(line for line in lines if line.lower().startswith(f"{name}=="))


def ansible_builder() -> str:
    found = (BIN / "ansible-builder") if (BIN / "ansible-builder").is_file() else shutil.which("ansible-builder")
    if not found:
        pytest.skip("ansible-builder is not installed (requirements-dev.txt has it: make venv)")
    return str(found)


def test_the_definition_names_the_collection_version_galaxy_yml_builds():
    tarball = f"dream-backup-{galaxy_version()}.tar.gz"
    ee = definition()
    assert ee["version"] == 3
    assert [entry["src"] for entry in ee["additional_build_files"]] == [f"dist/{tarball}"]
    collections = ee["dependencies"]["galaxy"]["collections"]
    assert collections == [{"name": f"{ee['additional_build_files'][0]['dest']}/{tarball}", "type": "file"}]


def test_the_definition_takes_python_requirements_and_ansible_core_from_requirements_txt():
    dependencies = definition()["dependencies"]
    assert dependencies["python"] == "requirements.txt"
    # ansible-builder drops ansible-core from requirements.txt; the definition installs the same pin.
    assert dependencies["ansible_core"]["package_pip"] == pinned(REPO / "requirements.txt", "ansible-core")
    assert dependencies["system"] == ["rclone"]


@pytest.fixture(scope="module")
def context(tmp_path_factory) -> tuple[Path, Path]:
    """(the build context ansible-builder wrote, the collection tarball built for it). The definition and its
    files are copied beside a collection built into DIR/dist, so the repository's dist/ is left alone."""
    builder = ansible_builder()
    tmp = tmp_path_factory.mktemp("ee")
    for name in ("execution-environment.yml", "requirements.txt"):
        shutil.copy2(REPO / name, tmp / name)
    subprocess.run([sys.executable, str(REPO / "collection" / "build.py"), "--out", str(tmp)], check=True,
                   capture_output=True, text=True, timeout=300)
    tarball = tmp / "dist" / f"dream-backup-{galaxy_version()}.tar.gz"
    assert tarball.is_file()
    done = subprocess.run([builder, "create", "--file", str(tmp / "execution-environment.yml"),
                           "--context", str(tmp / "context"), "--output-filename", "Containerfile"],
                          cwd=tmp, capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return tmp / "context", tarball


def test_ansible_builder_writes_a_context_with_the_containerfile_and_every_requirement(context):
    directory, tarball = context
    containerfile = (directory / "Containerfile").read_text(encoding="utf-8")
    assert "ansible-galaxy collection install" in containerfile
    assert pinned(REPO / "requirements.txt", "ansible-core") in containerfile
    build = directory / "_build"
    assert (build / "requirements.txt").read_bytes() == (REPO / "requirements.txt").read_bytes()
    assert (build / "bindep.txt").read_text(encoding="utf-8").split() == ["rclone"]
    assert (build / "collections" / tarball.name).read_bytes() == tarball.read_bytes()
    assert yaml.safe_load((build / "requirements.yml").read_text(encoding="utf-8"))["collections"] == \
        definition()["dependencies"]["galaxy"]["collections"]


def test_the_contexts_collection_requirement_installs_dream_backup(context, tmp_path):
    """What the image's galaxy stage runs (in /build, the context's _build), offline, into a temporary path."""
    directory, _ = context
    env = {name: value for name, value in os.environ.items() if not name.startswith("ANSIBLE_")}
    done = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "install", "--offline", "-r",
                           "requirements.yml", "--collections-path", str(tmp_path)], cwd=directory / "_build",
                          env=env, capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    manifest = json.loads((tmp_path / "ansible_collections" / "dream" / "backup" / "MANIFEST.json").read_text())
    assert manifest["collection_info"]["version"] == galaxy_version()
    with tarfile.open(context[1]) as shipped:
        assert "CHANGELOG.md" in shipped.getnames()
