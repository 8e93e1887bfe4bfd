"""Helpers for history tests, from the controller with the minio SDK: the versions a backup holds, and
waiting (on the server's own clock, not a sleep of guessed length) until a second has passed.

    python -m tests.support.history --state DIR wait-past --server offsite --bucket B --after T
        (returns when the server's clock, read from a probe object's last-modified, is past T;
         B is a scratch bucket, created when missing)
    python -m tests.support.history --state DIR newest --server offsite --bucket B [--prefix P]
        (prints the newest last-modified time of any version under P, RFC 3339 UTC)
    python -m tests.support.history --state DIR sha256 --server primary1 --bucket B --key K
"""

from __future__ import annotations

import hashlib
import io
import sys
import time
from datetime import UTC, datetime

from tests.support.object_cli import client_named, object_parser
from tests.support.s3world import read_object

PROBE_KEY = ".clock-probe"


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def versions(client, bucket: str, prefix: str = "") -> list:
    """Every version and delete marker under ``prefix``, newest first."""
    found = [o for o in client.list_objects(bucket, prefix=prefix or None, recursive=True, include_version=True)
             if not o.is_dir and o.object_name != PROBE_KEY]
    return sorted(found, key=lambda o: (o.last_modified, bool(o.is_latest)), reverse=True)


def newest(client, bucket: str, prefix: str = "") -> datetime:
    return versions(client, bucket, prefix)[0].last_modified


def wait_past(client, bucket: str, moment: datetime, limit: float = 120.0) -> datetime:
    """Writes a probe object until the server stamps it later than ``moment``; returns that stamp.
    ``bucket`` is a scratch bucket of the test (created when missing), never a backup or production one."""
    deadline = time.monotonic() + limit
    if not client.bucket_exists(bucket):
        client.make_bucket(bucket)
    while True:
        client.put_object(bucket, PROBE_KEY, io.BytesIO(b"."), 1)
        stamp = client.stat_object(bucket, PROBE_KEY).last_modified
        if stamp > moment:
            return stamp
        if time.monotonic() > deadline:
            raise TimeoutError(f"the server's clock did not pass {moment} within {limit:.0f}s")
        time.sleep(0.2)  # the next probe is the event we wait for; this only paces the requests


def sha256_of(client, bucket: str, key: str, version_id: str | None = None) -> str:
    return hashlib.sha256(read_object(client, bucket, key, version_id)).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = object_parser(__doc__.split("\n")[0], ["wait-past", "newest", "sha256"])
    parser.add_argument("--after", help="RFC 3339 time (wait-past)")
    args = parser.parse_args(argv)
    client = client_named(args)
    if args.action == "wait-past":
        print(rfc3339(wait_past(client, args.bucket, datetime.fromisoformat(args.after.replace("Z", "+00:00")))))
    elif args.action == "newest":
        print(rfc3339(newest(client, args.bucket, args.prefix)))
    else:
        print(sha256_of(client, args.bucket, args.key))
    return 0


if __name__ == "__main__":
    sys.exit(main())
