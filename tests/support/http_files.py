"""A tiny HTTP server on 127.0.0.1 for tests: serves given bytes or status codes per path and records
every request (path, headers, body), e.g. for downloads and healthcheck pings."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Recorded:
    method: str
    path: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class FileServer:
    def __init__(self, routes: dict[str, bytes | int] | None = None):
        self.routes: dict[str, bytes | int] = dict(routes or {})
        self.requests: list[Recorded] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                server.requests.append(Recorded(self.command, self.path, body, dict(self.headers)))
                route = server.routes.get(self.path.split("?")[0], 404)
                status, payload = (200, route) if isinstance(route, bytes) else (route, b"<html>Gone</html>")
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_HEAD = _answer

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> FileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
