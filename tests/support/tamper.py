"""Deliberate damage for drill and restore tests, from the controller with the minio SDK.

    python -m tests.support.tamper --state DIR corrupt --server offsite --bucket B --key K
        (same size, other bytes: what bit rot or a bad write looks like)
    python -m tests.support.tamper --state DIR edit --server primary1 --bucket books --key K
        (a newer production version: the backup is stale, not corrupt)
    python -m tests.support.tamper --state DIR delete --server primary1 --bucket books --prefix P
"""

from __future__ import annotations

import io
import sys

from tests.support.object_cli import client_named, object_parser
from tests.support.s3world import read_object


def main(argv: list[str] | None = None) -> int:
    args = object_parser(__doc__.split("\n")[0], ["corrupt", "edit", "delete"]).parse_args(argv)
    client = client_named(args)
    if args.action == "delete":
        keys = [o.object_name for o in client.list_objects(args.bucket, prefix=args.prefix, recursive=True)]
        for key in keys:
            client.remove_object(args.bucket, key)
        print(f"deleted {len(keys)} objects under {args.bucket}/{args.prefix}")
        return 0
    body = read_object(client, args.bucket, args.key)
    if args.action == "corrupt":
        damaged = bytes(b ^ 0xFF for b in body[:64]) + body[64:] if body else b"x"
    else:
        damaged = body + b"\nedited in production"
    client.put_object(args.bucket, args.key, io.BytesIO(damaged), len(damaged))
    print(f"{args.action}: {args.bucket}/{args.key}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
