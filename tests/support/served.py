"""What production serves, from the controller with the minio SDK: objects with types and user metadata,
a snapshot of every object (sha256, Content-Type, Cache-Control, user metadata) and the comparison of a
server with a snapshot, for the disaster recovery scenario.

    python -m tests.support.served --state DIR seed --server primary1 --count 240
    python -m tests.support.served --state DIR snapshot --server primary1 --out FILE
    python -m tests.support.served --state DIR compare --server primary1 --snapshot FILE
    python -m tests.support.served --state DIR count --server primary1

`compare` prints one JSON document and exits 1 naming each difference; rclone's own user metadata
(mtime, btime, md5chksum: docs/recovery.md) is not a difference when the original had none of it.
`count` prints the buckets and objects the server holds.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
from pathlib import Path

from tests.support.s3world import S3World

BUCKETS = ("books", "apps", "trash")
KINDS = (("page.html", "text/html; charset=utf-8", "public, max-age=300"),
         ("config.json", "application/json", "no-cache"),
         ("cover.png", "image/png", "public, max-age=86400, immutable"),
         ("notes.txt", "text/plain", ""))
ENGINE_METADATA = {"mtime", "btime", "md5chksum"}


def seed(client, count: int) -> int:
    for bucket in BUCKETS:
        if not client.bucket_exists(bucket):
            client.make_bucket(bucket)
    for i in range(count):
        name, content_type, cache = KINDS[i % len(KINDS)]
        bucket = BUCKETS[i % len(BUCKETS)]
        body = f"{bucket} object {i} ".encode() * (1 + i % 37)
        metadata = {"X-Amz-Meta-Owner": f"team-{i % 5}", "X-Amz-Meta-Serial": str(i)}
        if cache:
            metadata["Cache-Control"] = cache
        client.put_object(bucket, f"dr-{i // 12:03d}/{i:04d}-{name}", io.BytesIO(body), len(body),
                          content_type=content_type, metadata=metadata)
    return count


def snapshot(client) -> dict:
    state = {}
    for bucket in sorted(b.name for b in client.list_buckets()):
        objects = {}
        for obj in client.list_objects(bucket, recursive=True):
            stat = client.stat_object(bucket, obj.object_name)
            headers = {k.lower(): v for k, v in stat.metadata.items()}
            response = client.get_object(bucket, obj.object_name)
            try:
                digest = hashlib.sha256(response.read()).hexdigest()
            finally:
                response.close()
                response.release_conn()
            objects[obj.object_name] = {
                "sha256": digest, "content_type": headers.get("content-type"),
                "cache_control": headers.get("cache-control"),
                "meta": {k[len("x-amz-meta-"):]: v for k, v in headers.items() if k.startswith("x-amz-meta-")}}
        state[bucket] = objects
    return state


def differences(before: dict, after: dict) -> list[str]:
    found = []
    for bucket, objects in before.items():
        now = after.get(bucket)
        if now is None:
            found.append(f"{bucket}: bucket missing")
            continue
        for key, was in objects.items():
            have = now.get(key)
            if have is None:
                found.append(f"{bucket}/{key}: missing")
                continue
            meta = {k: v for k, v in have["meta"].items() if k in was["meta"] or k not in ENGINE_METADATA}
            for field in ("sha256", "content_type", "cache_control"):
                if have[field] != was[field]:
                    found.append(f"{bucket}/{key}: {field} {have[field]!r}, was {was[field]!r}")
            if meta != was["meta"]:
                found.append(f"{bucket}/{key}: user metadata {meta}, was {was['meta']}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--state", required=True, type=Path)
    parser.add_argument("action", choices=["seed", "snapshot", "compare", "count"])
    parser.add_argument("--server", required=True)
    parser.add_argument("--count", type=int, default=240)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--snapshot", type=Path)
    args = parser.parse_args(argv)
    client = S3World.load(args.state).by_name(args.server).client()
    if args.action == "seed":
        print(f"seeded {seed(client, args.count)} objects with types and user metadata on {args.server}")
    elif args.action == "snapshot":
        state = snapshot(client)
        args.out.write_text(json.dumps(state, indent=1, sort_keys=True))
        print(json.dumps({b: len(o) for b, o in state.items()}))
    elif args.action == "count":
        state = {b.name: sum(1 for _ in client.list_objects(b.name, recursive=True)) for b in client.list_buckets()}
        print(json.dumps({"buckets": len(state), "objects": sum(state.values()), "by_bucket": state}))
    else:
        before = json.loads(args.snapshot.read_text())
        found = differences(before, snapshot(client))
        print(json.dumps({"objects": sum(len(o) for o in before.values()), "differences": found[:50],
                          "count": len(found)}, indent=1))
        return 1 if found else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
