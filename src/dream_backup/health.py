"""Healthcheck pings (BACKUP_HEALTHCHECK_URL, healthchecks.io style): <url>/start, <url>, <url>/fail.
A short timeout; a failed ping is logged and never changes the outcome of the run."""

from __future__ import annotations

import urllib.request

TIMEOUT = 10


def ping(url: str, kind: str, log, body: str = "") -> None:
    if not url:
        return
    target = url.rstrip("/") + {"start": "/start", "success": "", "fail": "/fail"}[kind]
    # BACKUP_HEALTHCHECK_URL is validated as an http(s) URL by the configuration.
    request = urllib.request.Request(target, data=body.encode()[:10000] if body else None,  # noqa: S310
                                     method="POST" if body else "GET")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            response.read(1024)
    except Exception as exc:  # noqa: BLE001 - a ping must never change the run's outcome
        log.warning("Healthcheck ping failed", reason=f"{kind}: {type(exc).__name__}: {exc}")
