"""Checks from the controller, with the minio SDK, that every source object of a host is in the off-site
bucket under <target bucket>/<prefix>/<bucket>/<key> with the same sha256.

    python -m tests.support.compare_backup --state DIR --source primary1 --target offsite \
        --target-bucket dream-central-storage-backups --prefix dcs-vps1 --buckets books,apps,trash

With --restored-into X (and optionally --key-prefix P) the direction is reversed: every backup
object of --buckets (one bucket) under P must be in source bucket X with the same sha256.

Prints one JSON document; exit 0 when every object matches, 1 otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

from minio import Minio

from tests.support.s3world import S3World


def digest(client: Minio, bucket: str, key: str) -> str:
    response = client.get_object(bucket, key)
    try:
        sha = hashlib.sha256()
        for block in response.stream(1024 * 1024):
            sha.update(block)
        return sha.hexdigest()
    finally:
        response.close()
        response.release_conn()


def tally(pairs) -> dict:
    """Compare each (label, (client, bucket, key), (client, bucket, key)) pair by sha256."""
    report = {"objects": 0, "matching": 0, "problems": []}
    for label, left, right in pairs:
        report["objects"] += 1
        try:
            same = digest(*left) == digest(*right)
        except Exception as exc:  # noqa: BLE001 - a missing copy is a finding, not a crash
            report["problems"].append(f"{label}: {exc}")
            continue
        if same:
            report["matching"] += 1
        else:
            report["problems"].append(f"{label}: sha256 differs")
    return report


def compare(source: Minio, target: Minio, target_bucket: str, prefix: str, buckets: list[str]) -> dict:
    """Every source object against its backup copy."""
    return tally((f"{bucket}/{obj.object_name}", (source, bucket, obj.object_name),
                  (target, target_bucket, "/".join(p for p in (prefix, bucket, obj.object_name) if p)))
                 for bucket in buckets for obj in source.list_objects(bucket, recursive=True))


def compare_restore(source: Minio, target: Minio, target_bucket: str, prefix: str, bucket: str,
                    into: str, key_prefix: str) -> dict:
    """Every backup object (under key_prefix) against its restored copy in source bucket ``into``."""
    base = "/".join(p for p in (prefix, bucket) if p) + "/"
    return tally((f"{into}/{obj.object_name[len(base):]}", (target, target_bucket, obj.object_name),
                  (source, into, obj.object_name[len(base):]))
                 for obj in target.list_objects(target_bucket, prefix=base + key_prefix, recursive=True))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for flag in ("--state", "--source", "--target", "--target-bucket", "--buckets"):
        parser.add_argument(flag, required=True)
    parser.add_argument("--prefix", default="")
    parser.add_argument("--restored-into", default="")
    parser.add_argument("--key-prefix", default="")
    args = parser.parse_args(argv)
    world = S3World.load(Path(args.state))
    source, target = world.by_name(args.source).client(), world.by_name(args.target).client()
    if args.restored_into:
        report = compare_restore(source, target, args.target_bucket, args.prefix, args.buckets,
                                 args.restored_into, args.key_prefix)
    else:
        report = compare(source, target, args.target_bucket, args.prefix, args.buckets.split(","))
    print(json.dumps(report, indent=2))
    return 0 if report["objects"] and not report["problems"] else 1


if __name__ == "__main__":
    sys.exit(main())
