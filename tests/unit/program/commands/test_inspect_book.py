"""`dream-backup inspect-book` (commands/inspect_book.py): media kinds, and an HTML page that stays
self-contained and inert whatever a key or config.json holds (its only script allowed by hash). Against
real servers: tests/integration/test_operator_views.py."""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser

import pytest

from dream_backup.commands import inspect_book

HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)>'


class Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)
            self._in_script = False


@pytest.mark.parametrize(("key", "kind"), [("p/1.PNG", "image"), ("a.jpeg", "image"), ("s.mp3", "audio"),
                                           ("v.mp4", "video"), ("config.json", "other"), ("dir.png/file", "other"),
                                           ("noext", "other")])
def test_kind_of(key, kind):
    assert inspect_book.kind_of(key) == kind


def document(key: str) -> dict:
    return {"book": "book-1", "objects": 2, "bytes": 10,
            "tree": [{"key": key, "size": 4, "kind": "image"}, {"key": "audio/s.mp3", "size": 6, "kind": "audio"}],
            "media": {"image": [key], "audio": ["audio/s.mp3"], "video": []},
            "problems": [f"config.json names {HOSTILE}"]}


def test_the_page_runs_only_its_own_script_whatever_the_keys_and_config_hold():
    key = f"pages/{HOSTILE}.png"
    page = inspect_book.render_html(document(key), '{"title": "' + HOSTILE + '"}',
                                    {key: b"\x89PNG", "audio/s.mp3": b"ID3"})
    parsed = Elements()
    parsed.feed(page)
    assert [t for t, _ in parsed.tags].count("script") == 1
    assert parsed.scripts == [inspect_book.SCRIPT]
    assert not any(name.startswith("on") for _, attrs in parsed.tags for name in attrs)
    expected = "sha256-" + base64.b64encode(hashlib.sha256(inspect_book.SCRIPT.encode()).digest()).decode()
    csp = next(a["content"] for t, a in parsed.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert "default-src 'none'" in csp and f"script-src '{expected}'" in csp
    # Every source is inline data: the page makes no request.
    sources = [a["src"] for t, a in parsed.tags if "src" in a]
    assert sources and all(s.startswith("data:") for s in sources)
    assert re.search(r'<img alt="[^"]*" src="data:image/png;base64,iVBORw=="', page)
    assert '<audio controls preload="metadata" src="data:audio/mpeg;base64,SUQz">' in page


def test_media_too_large_to_embed_is_named_not_linked():
    figure = inspect_book.media_html("video", "v/big.mp4", None, 10 * 1024 * 1024)
    assert "not embedded in this page" in figure and "src=" not in figure and "href" not in figure
