"""The command line the small object tools of the tests (tamper, history) share: the state directory of
the running servers, an action, a server by name, and the bucket, key and prefix it acts on."""

from __future__ import annotations

import argparse
from pathlib import Path

from minio import Minio

from tests.support.s3world import S3World


def object_parser(description: str, actions: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--state", required=True, type=Path)
    parser.add_argument("action", choices=actions)
    parser.add_argument("--server", required=True)
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--key", default="")
    parser.add_argument("--prefix", default="")
    return parser


def client_named(args: argparse.Namespace) -> Minio:
    return S3World.load(args.state).by_name(args.server).client()
