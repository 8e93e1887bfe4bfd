"""s3probe: how a server's answer to an invalid write request becomes "can", "cannot" or "unknown", and
that a signed request carries the key's id but never its secret."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dream_backup import s3probe
from dream_backup.config import Endpoint

SECRET = "pr0be-Secret/value"


@pytest.mark.parametrize(("status", "code", "expected"), [
    (403, "AccessDenied", "cannot"), (400, "BadDigest", "can"), (400, "MalformedXML", "can"),
    (400, "InvalidRequest", "can"), (200, "", "can"), (403, "SignatureDoesNotMatch", "unknown"),
    (404, "NoSuchBucket", "unknown"), (503, "", "unknown"),
])
def test_an_answer_becomes_a_verdict(status, code, expected):
    assert s3probe.verdict(status, code)[0] == expected


def test_a_signed_request_names_the_key_and_hides_its_secret():
    endpoint = Endpoint("https://s3.example:9000", "PROBEKEY", SECRET, "eu-west-1")
    headers = s3probe.signed_headers(endpoint, "PUT", "/books/dream-backup-check/write-probe", "", b"",
                                     {"Content-MD5": "x"}, datetime(2026, 12, 6, tzinfo=UTC))
    assert headers["host"] == "s3.example:9000" and headers["x-amz-date"] == "20261206T000000Z"
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=PROBEKEY/20261206/eu-west-1/s3/")
    assert "content-md5" in headers["authorization"]  # the digest is signed: nobody can swap it in transit
    assert SECRET not in repr(headers)
