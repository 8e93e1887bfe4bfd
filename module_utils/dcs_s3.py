"""An S3 client for this repository's controller-side modules (the minio SDK), and error messages that
never carry a secret.

The SDK is imported here, not by Ansible's module packaging: it has to be installed in the Python that
runs the module (the controller's, from requirements.txt).
"""

from __future__ import annotations

from urllib.parse import urlsplit

try:
    import certifi
    import urllib3
    from minio import Minio
    from minio.error import MinioException, S3Error

    MINIO_IMPORT_ERROR = None
    # What a failed call raises: the server's answer, or the transport (urllib3 wraps socket errors).
    S3_ERRORS = (MinioException, urllib3.exceptions.HTTPError, OSError, ValueError)
except ImportError as exc:  # reported by the module through missing_required_lib
    MINIO_IMPORT_ERROR = exc
    MinioException = S3Error = Exception
    S3_ERRORS = (Exception,)

# Bounded waits: a hung endpoint fails the task instead of holding the play for the SDK's 5 minutes.
CONNECT_TIMEOUT = 15
READ_TIMEOUT = 120
RETRIES = 3


def parse_endpoint(url):
    """``http(s)://host[:port][/]`` -> (host:port, secure). Paths, queries and credentials are refused."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("endpoint must be an http:// or https:// URL with a host, e.g. https://s3.example.com")
    if parts.username or parts.password:
        raise ValueError("endpoint must not carry credentials; use access_key and secret_key")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("endpoint must be scheme://host[:port] without a path (the bucket is a separate option)")
    return parts.netloc, parts.scheme == "https"


def make_client(endpoint, access_key, secret_key, region="us-east-1", ca_file=None, validate_certs=True):
    hostport, secure = parse_endpoint(endpoint)
    http = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT, read=READ_TIMEOUT),
        retries=urllib3.Retry(total=RETRIES, backoff_factor=0.5, status_forcelist=[500, 502, 503, 504]),
        cert_reqs="CERT_REQUIRED" if validate_certs else "CERT_NONE",
        ca_certs=ca_file or certifi.where(),
    )
    return Minio(hostport, access_key=access_key, secret_key=secret_key, secure=secure, region=region,
                 http_client=http, cert_check=validate_certs)


def describe_error(exc, *secrets):
    """One line for a failed S3 call: the server's code and message, or the transport error, with any
    secret replaced (a defence in depth: neither normally contains one)."""
    if isinstance(exc, S3Error) and MINIO_IMPORT_ERROR is None:
        text = f"{exc.code}: {exc.message}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    for secret in secrets:
        if secret:
            text = text.replace(secret, "********")
    return text
