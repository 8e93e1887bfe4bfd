"""What a key may do, asked without changing anything (`check`; docs/security.md).

Each probe is a write request that no server can carry out whatever the key's rights, because the
request itself is invalid; the server's answer tells whether the key was allowed to make it:
AccessDenied (checked first, before the body) means the right is not held, a complaint about the body
means it is.

- object write: a PUT of zero bytes whose Content-MD5 is that of another body. A key that may write
  gets BadDigest (the server compares the digest with what it received and stores nothing).
- lifecycle / versioning change: a PUT of a body that is not a valid configuration (MalformedXML,
  InvalidRequest and the like for a key that may change them).

Neither engine can send such a request, so this module signs its own (AWS Signature Version 4, standard
library only). The secret never leaves the signature; answers are reduced to their error code."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import re
import ssl
import urllib.parse
from datetime import UTC, datetime

PROBE_KEY = "dream-backup-check/write-probe"  # never stored: the digest cannot match
DENIED = {"AccessDenied", "AllAccessDisabled", "AccountProblem"}
BODY_REJECTED = {"BadDigest", "InvalidDigest", "MalformedXML", "InvalidRequest", "InvalidArgument",
                 "IllegalVersioningConfigurationException", "MalformedPolicy", "XAmzContentSHA256Mismatch"}
CAN, CANNOT, UNKNOWN = "can", "cannot", "unknown"


def _quote(text: str) -> str:
    return urllib.parse.quote(text, safe="-_.~/")


def _sign(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def signed_headers(endpoint, method: str, path: str, query: str, body: bytes, extra: dict[str, str],
                   now: datetime) -> dict[str, str]:
    """The headers of a SigV4-signed request (path-style, payload hashed)."""
    host = urllib.parse.urlsplit(endpoint.url).netloc
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    headers = {"host": host, "x-amz-date": amz_date, "x-amz-content-sha256": hashlib.sha256(body).hexdigest(),
               **{k.lower(): v for k, v in extra.items()}}
    names = sorted(headers)
    canonical = "\n".join([method, _quote(path), query, *(f"{n}:{headers[n].strip()}" for n in names), "",
                           ";".join(names), headers["x-amz-content-sha256"]])
    scope = f"{day}/{endpoint.region}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _sign(_sign(_sign(_sign(f"AWS4{endpoint.secret_key}".encode(), day), endpoint.region), "s3"),
                "aws4_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={endpoint.access_key}/{scope}, "
                                f"SignedHeaders={';'.join(names)}, Signature={signature}")
    return headers


def request(endpoint, path: str, query: str, body: bytes, extra: dict[str, str], ca_file: str = "",
            timeout: float = 30) -> tuple[int, str]:
    """PUT and return (HTTP status, S3 error code or '')."""
    parts = urllib.parse.urlsplit(endpoint.url)
    headers = signed_headers(endpoint, "PUT", path, query, body, extra, datetime.now(UTC))
    if parts.scheme == "https":
        context = ssl.create_default_context(cafile=ca_file or None)
        conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=timeout, context=context)
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request("PUT", _quote(path) + (f"?{query}" if query else ""), body=body, headers=headers)
        response = conn.getresponse()
        text = response.read(65536)
    finally:
        conn.close()
    # Only the error code is read (a regular expression: no XML parser for a server's answer).
    found = re.search(rb"<Code>([A-Za-z0-9.]{1,64})</Code>", text)
    return response.status, found.group(1).decode() if found else ""


def verdict(status: int, code: str) -> tuple[str, str]:
    """(CAN / CANNOT / UNKNOWN, how the server answered)."""
    answer = f"{code or 'no error code'} (HTTP {status})"
    if code in DENIED:
        return CANNOT, answer
    if code in BODY_REJECTED or 200 <= status < 300:
        return CAN, answer
    return UNKNOWN, answer


def _md5(body: bytes) -> str:
    return base64.b64encode(hashlib.md5(body).digest()).decode()  # noqa: S324 - S3's Content-MD5


def can_write_object(endpoint, bucket: str, ca_file: str = "") -> tuple[str, str]:
    """May the key put into ``bucket``? A zero-byte PUT whose Content-MD5 is that of b'x'."""
    return verdict(*request(endpoint, f"/{bucket}/{PROBE_KEY}", "", b"", {"content-md5": _md5(b"x")}, ca_file))


def can_change_lifecycle(endpoint, bucket: str, ca_file: str = "") -> tuple[str, str]:
    """May the key replace ``bucket``'s lifecycle? A PutBucketLifecycleConfiguration that is not XML."""
    body = b"not a lifecycle configuration"
    return verdict(*request(endpoint, f"/{bucket}", "lifecycle=", body, {"content-md5": _md5(body)}, ca_file))


def can_change_versioning(endpoint, bucket: str, ca_file: str = "") -> tuple[str, str]:
    """May the key change ``bucket``'s versioning? A PutBucketVersioning with a status no server knows."""
    body = b"<VersioningConfiguration><Status>NotAStatus</Status></VersioningConfiguration>"
    return verdict(*request(endpoint, f"/{bucket}", "versioning=", body, {"content-md5": _md5(body)}, ca_file))
