"""Unit tests of the backup program's pure parts import its sources (the zipapp is built from them)."""

from __future__ import annotations

import http.server
import sys
import threading

import pytest

from tests.support.program import REPO

SOURCES = str(REPO / "src")
if SOURCES not in sys.path:
    sys.path.insert(0, SOURCES)

from dream_backup import config  # noqa: E402 - importable once the sources are on sys.path


@pytest.fixture
def make_config():
    """A valid Config from the environment layer alone: the required variables plus ``extra``."""
    def make(**extra):
        environ = {
            "MINIO_SOURCE_ENDPOINT": "http://minio.internal:9000",
            "MINIO_SOURCE_ACCESS_KEY": "source-access",
            "MINIO_SOURCE_SECRET_KEY": "source-secret",
            "BACKUP_TARGET_ENDPOINT": "https://s3.offsite.example",
            "BACKUP_TARGET_ACCESS_KEY": "target-access",
            "BACKUP_TARGET_SECRET_KEY": "target-secret",
            "BACKUP_TARGET_BUCKET": "dcs-backup",
            "MINIO_BACKUP_BUCKETS": "books,trash",
        }
        return config.load(None, environ=environ | extra)
    return make


class Pings:
    """A healthcheck endpoint on localhost: every request's method, path and body, in order."""

    def __init__(self):
        self.requests: list[tuple[str, str, bytes]] = []
        self.status = 200
        pings = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                pings.requests.append((self.command, self.path, self.rfile.read(length)))
                self.send_response(pings.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"OK")

            do_GET = do_POST = answer

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/ping/abc"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def pings():
    endpoint = Pings()
    yield endpoint
    endpoint.close()
