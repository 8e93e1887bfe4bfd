"""backup_target_bucket: what it refuses before it talks to any server, and how a dead endpoint fails.
Its behaviour against a real server is in tests/integration/test_target_bucket.py."""

from __future__ import annotations

import socket

import pytest

SECRET = "unit-ADMIN-secret-9931"
BASE = {"endpoint": "http://127.0.0.1:9", "bucket": "dream-central-storage-backups",
        "access_key": "admin-key", "secret_key": SECRET}


def closed_port() -> int:
    """A 127.0.0.1 port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(("extra", "message"), [
    ({"noncurrent_days": 0}, "noncurrent_days must be 1 or more"),
    ({"noncurrent_keep": -1}, "noncurrent_keep must be between 0 and 100"),
    ({"noncurrent_keep": 101}, "noncurrent_keep must be between 0 and 100"),
    ({"lock_days": 0}, "lock_days must be 1 or more"),
    ({"lock_mode": "governance"}, "value of lock_mode must be one of: GOVERNANCE, COMPLIANCE"),
    ({"bucket": ""}, "bucket must not be empty"),
    ({"endpoint": "ftp://s3.example.com"}, "must be an http:// or https:// URL"),
    ({"endpoint": "s3.example.com:9000"}, "must be an http:// or https:// URL"),
    ({"endpoint": "https://s3.example.com/bucket"}, "without a path"),
    ({"endpoint": f"https://admin-key:{SECRET}@s3.example.com"}, "must not carry credentials"),
])
def test_invalid_arguments_are_refused_without_the_secret(run_module, extra, message):
    result = run_module("backup_target_bucket", {**BASE, **extra})
    assert result["failed"] is True
    assert message in result["msg"]
    assert SECRET not in result["_raw"]


def test_secret_key_is_required(run_module):
    args = {k: v for k, v in BASE.items() if k != "secret_key"}
    result = run_module("backup_target_bucket", args)
    assert result["failed"] is True and "secret_key" in result["msg"]


@pytest.mark.parametrize("check", [False, True])
def test_unreachable_endpoint_fails_cleanly(run_module, check):
    port = closed_port()
    result = run_module("backup_target_bucket", {**BASE, "endpoint": f"http://127.0.0.1:{port}"}, check=check)
    assert result["failed"] is True
    assert result["msg"].startswith(f"bucket dream-central-storage-backups at http://127.0.0.1:{port}: reading failed:")
    assert "Connection refused" in result["msg"]
    assert SECRET not in result["_raw"]
    assert "Traceback" not in result["_raw"]
