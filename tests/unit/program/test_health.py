"""Healthcheck pings (health.py): <url>/start, <url>, <url>/fail, a body only by POST, and a failed ping
is a warning that never changes the run."""

from __future__ import annotations

import pytest

from dream_backup import health


class Recorded:
    def __init__(self):
        self.warnings = []

    def warning(self, message, **fields):
        self.warnings.append((message, fields))


@pytest.mark.parametrize(("kind", "path"), [("start", "/ping/abc/start"), ("success", "/ping/abc"),
                                            ("fail", "/ping/abc/fail")])
def test_each_kind_has_its_path(pings, kind, path):
    log = Recorded()
    health.ping(pings.url + "/", kind, log)  # a trailing slash in the URL is not doubled
    assert pings.requests == [("GET", path, b"")]
    assert log.warnings == []


def test_a_body_is_posted_and_bounded(pings):
    health.ping(pings.url, "fail", Recorded(), body="x" * 20000)
    [(method, path, body)] = pings.requests
    assert (method, path, len(body)) == ("POST", "/ping/abc/fail", 10000)


def test_no_url_no_ping(pings):
    health.ping("", "fail", Recorded(), body="reason")
    assert pings.requests == []


def test_an_error_answer_is_a_warning_and_nothing_more(pings):
    pings.status = 500
    log = Recorded()
    health.ping(pings.url, "success", log)
    [(message, fields)] = log.warnings
    assert message == "Healthcheck ping failed"
    assert fields["reason"].startswith("success: HTTPError: HTTP Error 500")


def test_an_unreachable_endpoint_is_a_warning(pings):
    url = pings.url
    pings.close()
    log = Recorded()
    health.ping(url, "start", log)
    [(message, fields)] = log.warnings
    assert message == "Healthcheck ping failed" and fields["reason"].startswith("start: URLError")
