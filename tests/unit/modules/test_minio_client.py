"""minio_client against a local HTTP server: good binary, wrong checksum, 410, 404, Midnight Commander."""

from __future__ import annotations

import hashlib
import stat

import pytest

from tests.support.http_files import FileServer
from tests.unit.conftest import tree_snapshot

# Like the MinIO client, the stand-in names itself by the basename of its argv[0]: run as the module's
# temporary file it prints ".mc.XXXX version RELEASE...".
GOOD = (b"#!/bin/sh\n"
        b"echo \"$(basename \"$0\") version RELEASE.2025-08-13T08-35-41Z "
        b"(commit-id=7394ce0dd2a80935aded936b09fa12cbb3cb8096)\"\n"
        b"echo 'Runtime: go1.24.6 linux/amd64'\n")
OTHER_GOOD = GOOD.replace(b"Runtime", b"Runtime (rebuilt)")
MIDNIGHT = b"#!/bin/sh\necho 'GNU Midnight Commander 4.8.29'\n"
# Not the MinIO client even though a later line looks like it: only the first line counts.
IMPOSTOR = b"#!/bin/sh\necho 'GNU Midnight Commander 4.8.29'\necho 'mc version RELEASE.2025-08-13T08-35-41Z'\n"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def server():
    with FileServer({"/mc": GOOD, "/mc-other": OTHER_GOOD, "/midnight": MIDNIGHT, "/impostor": IMPOSTOR,
                     "/gone": 410}) as srv:
        yield srv


def install(run_module, server, dest, path="/mc", checksum=None, **extra):
    args = {"url": server.base + path, "checksum": checksum or sha(GOOD), "dest": str(dest)}
    args.update(extra)
    return run_module("minio_client", args)


def test_installs_verified_binary(run_module, server, tmp_path):
    dest = tmp_path / "mc"
    result = install(run_module, server, dest)
    assert result["changed"] is True
    assert result["version"] == "RELEASE.2025-08-13T08-35-41Z"
    assert dest.read_bytes() == GOOD
    assert stat.S_IMODE(dest.stat().st_mode) == 0o755 and dest.stat().st_uid == 0
    assert [p.name for p in tmp_path.iterdir()] == ["mc"]


def test_present_binary_is_not_downloaded_again(run_module, server, tmp_path):
    dest = tmp_path / "mc"
    install(run_module, server, dest)
    server.requests.clear()
    result = install(run_module, server, dest)
    assert result["changed"] is False and result["version"].startswith("RELEASE.")
    assert server.requests == []


def test_wrong_checksum_fails_and_keeps_old_binary(run_module, server, tmp_path):
    dest = tmp_path / "mc"
    install(run_module, server, dest)
    result = install(run_module, server, dest, path="/mc-other", checksum=sha(b"something else"))
    assert result["failed"] is True and "sha256 mismatch" in result["msg"]
    assert dest.read_bytes() == GOOD
    assert [p.name for p in tmp_path.iterdir()] == ["mc"]


def test_http_410_explains_archived_project(run_module, server, tmp_path):
    result = install(run_module, server, tmp_path / "mc", path="/gone")
    assert result["failed"] is True
    assert "410" in result["msg"] and "archived" in result["msg"]
    assert list(tmp_path.iterdir()) == []


def test_http_404_fails_clearly(run_module, server, tmp_path):
    result = install(run_module, server, tmp_path / "mc", path="/missing")
    assert result["failed"] is True and "HTTP 404" in result["msg"]
    assert list(tmp_path.iterdir()) == []


def test_download_that_is_not_mc_is_refused(run_module, server, tmp_path):
    result = install(run_module, server, tmp_path / "mc", path="/midnight", checksum=sha(MIDNIGHT))
    assert result["failed"] is True and "not the MinIO client" in result["msg"]
    assert list(tmp_path.iterdir()) == []


def test_version_line_must_be_first(run_module, server, tmp_path):
    result = install(run_module, server, tmp_path / "mc", path="/impostor", checksum=sha(IMPOSTOR))
    assert result["failed"] is True and "not the MinIO client" in result["msg"]
    assert list(tmp_path.iterdir()) == []


def test_installed_under_another_name_reports_its_version(run_module, server, tmp_path):
    dest = tmp_path / "mc-2025-08-13"
    result = install(run_module, server, dest)
    assert result["changed"] is True and result["version"] == "RELEASE.2025-08-13T08-35-41Z"
    again = install(run_module, server, dest)
    assert again["changed"] is False and again["version"] == "RELEASE.2025-08-13T08-35-41Z"
    assert dest.read_bytes() == GOOD


def test_existing_midnight_commander_needs_force(run_module, server, tmp_path):
    dest = tmp_path / "mc"
    dest.write_bytes(MIDNIGHT)
    dest.chmod(0o755)
    result = install(run_module, server, dest)
    assert result["failed"] is True and "Midnight Commander" in result["msg"]
    assert dest.read_bytes() == MIDNIGHT
    forced = install(run_module, server, dest, force=True)
    assert forced["changed"] is True and dest.read_bytes() == GOOD


def test_check_mode_downloads_nothing_and_changes_nothing(run_module, server, tmp_path):
    before = tree_snapshot(tmp_path)
    result = run_module("minio_client", {"url": server.base + "/mc", "checksum": sha(GOOD),
                                         "dest": str(tmp_path / "mc")}, check=True, diff=True)
    assert result["changed"] is True and server.requests == []
    assert tree_snapshot(tmp_path) == before
    assert sha(GOOD) in result["diff"]["after"]


def test_src_on_host(run_module, tmp_path):
    src = tmp_path / "staged-mc"
    src.write_bytes(GOOD)
    dest = tmp_path / "bin-mc"
    result = run_module("minio_client", {"src": str(src), "checksum": sha(GOOD), "dest": str(dest)})
    assert result["changed"] is True and dest.read_bytes() == GOOD


def test_checksum_in_get_urls_form_installs_and_reports_the_bare_sum(run_module, tmp_path):
    src, dest = tmp_path / "stage-mc", tmp_path / "mc"
    src.write_bytes(GOOD)
    result = run_module("minio_client", {"src": str(src), "checksum": f"SHA256:{sha(GOOD)}", "dest": str(dest)})
    assert result["changed"] is True and dest.read_bytes() == GOOD and result["checksum"] == sha(GOOD)


@pytest.mark.parametrize("checksum", ["md5:" + "0" * 32, "sha1:" + "0" * 40, "sha512:" + "0" * 64, "sha256:abc"])
def test_checksum_of_another_algorithm_or_length_is_refused(run_module, tmp_path, checksum):
    result = run_module("minio_client", {"checksum": checksum, "dest": str(tmp_path / "mc")})
    assert result["failed"] is True and "sha256:<hex>" in result["msg"]
    assert not (tmp_path / "mc").exists()


def test_bad_checksum_format(run_module, tmp_path):
    result = run_module("minio_client", {"checksum": "abc", "dest": str(tmp_path / "mc")})
    assert result["failed"] is True and "checksum" in result["msg"]


def test_default_url_per_architecture(run_module, tmp_path, monkeypatch):
    monkeypatch.setattr("platform.machine", lambda: "aarch64")
    result = run_module("minio_client", {"checksum": sha(GOOD), "dest": str(tmp_path / "mc")}, check=True)
    assert result["url"] == ("https://github.com/minio/mc/releases/download/RELEASE.2025-08-13T08-35-41Z/"
                             "mc.linux-arm64.RELEASE.2025-08-13T08-35-41Z")
    monkeypatch.setattr("platform.machine", lambda: "mips")
    result = run_module("minio_client", {"checksum": sha(GOOD), "dest": str(tmp_path / "mc")}, check=True)
    assert result["failed"] is True and "mips" in result["msg"]
