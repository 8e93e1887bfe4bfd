"""Serves MinIO-client stand-ins over HTTP on 127.0.0.1 for the Molecule `mc` scenario, which tests
the install path of the minio_client module inside the fleet (the real mc cannot be downloaded here).

    python -m tests.support.mc_fixture start --state DIR   # writes DIR/mc.json {url, sha256_*}
    python -m tests.support.mc_fixture stop --state DIR

Served files: /mc-good (a tiny executable TEST DOUBLE printing mc's version line under its own
name), /mc-other (the same with other bytes), /mc-midnight (prints Midnight Commander's version),
/gone (HTTP 410).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.support.http_files import FileServer

# Like the MinIO client, the stand-in names itself by the basename of its argv[0] (installed as
# /usr/local/bin/mc it says "mc version ...", run as the install's temporary file ".mc.XXXX version ...").
GOOD = (b"#!/bin/sh\n# TEST DOUBLE of the MinIO client: prints the version line only.\n"
        b"echo \"$(basename \"$0\") version RELEASE.2025-08-13T08-35-41Z (commit-id=molecule-test-double)\"\n"
        b"echo 'Runtime: sh (test double) linux/amd64'\n")
OTHER = GOOD.replace(b"molecule-test-double", b"molecule-test-double-2")
MIDNIGHT = b"#!/bin/sh\necho 'GNU Midnight Commander 4.8.29'\n"


def routes() -> dict[str, bytes | int]:
    return {"/mc-good": GOOD, "/mc-other": OTHER, "/mc-midnight": MIDNIGHT, "/gone": 410}


def serve(state: Path) -> None:
    with FileServer(routes()) as server:
        info = {"url": server.base, "pid": os.getpid(),
                **{f"sha256_{name[4:]}": hashlib.sha256(body).hexdigest()
                   for name, body in routes().items() if isinstance(body, bytes)}}
        (state / "mc.json.tmp").write_text(json.dumps(info))
        (state / "mc.json.tmp").rename(state / "mc.json")
        signal.sigwait({signal.SIGTERM, signal.SIGINT})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["start", "stop", "serve"])
    parser.add_argument("--state", required=True, type=Path)
    args = parser.parse_args(argv)
    state = args.state.resolve()
    info_file = state / "mc.json"
    if args.action == "serve":
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
        serve(state)
        return 0
    if args.action == "start":
        state.mkdir(parents=True, exist_ok=True)
        info_file.unlink(missing_ok=True)
        server = subprocess.Popen([sys.executable, "-m", "tests.support.mc_fixture", "serve", "--state",
                                   str(state)], start_new_session=True, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL)
        # The info file is written once the server listens; the bound only catches a hung start.
        deadline = time.monotonic() + 300
        while not info_file.exists():
            if server.poll() is not None:
                print(f"mc fixture server exited with {server.returncode} before serving", file=sys.stderr)
                return 1
            if time.monotonic() > deadline:
                server.terminate()
                print("mc fixture server did not start", file=sys.stderr)
                return 1
            time.sleep(0.05)
        print(info_file.read_text())
        return 0
    if info_file.exists():
        with contextlib.suppress(ProcessLookupError):
            os.kill(json.loads(info_file.read_text())["pid"], signal.SIGTERM)
        info_file.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
