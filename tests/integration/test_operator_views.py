"""Operator views: the trash retention countdown and book content inspection (read-only)."""

from __future__ import annotations

import base64
import html
import json
import re
import shutil
import subprocess
import time
from datetime import datetime, timedelta

import pytest

from tests.support.seed import book_objects

RETENTION = 7


@pytest.fixture
def trash_world(deploy, s3_world):
    client = s3_world.by_name("primary").client()
    if client.bucket_exists("trash"):
        for obj in client.list_objects("trash", recursive=True):
            client.remove_object("trash", obj.object_name)
    else:
        client.make_bucket("trash")
    d = deploy()
    d.write_env(MINIO_BACKUP_BUCKETS="trash")
    return d


def report(d, *args):
    run = d.run("trash-report", "--json", *args)
    assert run.code == 0, run.stderr
    return {o["key"]: o for o in json.loads(run.stdout)["objects"]}, json.loads(run.stdout)


def test_countdown_in_the_admin_panels_words(trash_world):
    d = trash_world
    for key in ("old/a.txt", "old/b.txt"):
        d.put("trash", key, b"older batch")
    assert d.run().code == 0  # the older batch has an off-site copy
    time.sleep(3)  # a later whole second on the servers' clock (a slow machine only widens the gap)
    for key in ("new/c.txt", "new/d.txt"):
        d.put("trash", key, b"newer batch")
    objects, _ = report(d)
    older = max(json_time(objects[k]["last_modified"]) for k in ("old/a.txt", "old/b.txt"))
    boundary = older + timedelta(days=RETENTION, seconds=1)  # between the batches
    objects, doc = report(d, "--now", boundary.isoformat())
    assert [o["key"] for o in doc["objects"]][:2] == ["old/a.txt", "old/b.txt"]  # sorted by eligibility
    for key in ("old/a.txt", "old/b.txt"):
        assert objects[key]["countdown"] == "Eligible now" and objects[key]["backed_up"] is True
    for key in ("new/c.txt", "new/d.txt"):
        assert objects[key]["countdown"] == "Eligible in 1 day" and objects[key]["backed_up"] is False
    objects, _ = report(d, "--now", (boundary - timedelta(days=3)).isoformat())
    assert objects["old/a.txt"]["countdown"] == "Eligible in 3 days"

    asked = d.run("trash-report", "--now", boundary.isoformat(), "--key", "old/a.txt", "--key", "gone.txt")
    assert asked.code == 0
    assert "Eligible now" in asked.stdout and "yes" in asked.stdout and "does not exist" in asked.stdout


def json_time(text):
    return datetime.fromisoformat(text)


def seed_book(d, book: str, config: bytes | None = b'{"title": "T"}') -> dict:
    objects = book_objects(book, "Title", (10, 120, 200))
    if config is None:
        del objects[f"{book}/config.json"]
    else:
        objects[f"{book}/config.json"] = (config, "application/json")
    if not d.src.bucket_exists("books"):
        d.src.make_bucket("books")
    for key, (body, content_type) in objects.items():
        d.put("books", key, body, content_type=content_type)
    return objects


def inspect(d, book, *args):
    run = d.run("inspect-book", book, "--json", *args)
    return run, json.loads(run.stdout) if run.stdout.strip().startswith("{") else {}


def test_book_shown_completely(deploy):
    d = deploy()
    book = f"book-{d.token}"
    objects = seed_book(d, book)
    run, doc = inspect(d, book)
    assert run.code == 0 and doc["problems"] == []
    assert {t["key"] for t in doc["tree"]} == {k[len(book) + 1:] for k in objects}
    assert doc["config"] == {"title": "T"}
    assert doc["media"]["image"] == ["images/cover.png", "images/pages/page 1.png"]
    assert doc["media"]["audio"] == ["audio/chapter-1.wav", "audio/chapter-2.mp3"]
    assert doc["media"]["video"] == ["video/intro.mp4"]


@pytest.mark.parametrize(("config", "words"), [(b'{"title": ', "not valid JSON"), (None, "config.json is missing")])
def test_broken_or_missing_config_is_a_problem(deploy, config, words):
    d = deploy()
    book = f"book-{d.token}"
    seed_book(d, book, config)
    run, doc = inspect(d, book)
    assert run.code == 1 and any(words in p for p in doc["problems"])
    human = d.run("inspect-book", book)
    assert human.code == 1 and words in human.stdout


def test_difference_from_the_backup_is_named(deploy):
    d = deploy()
    d.write_env(MINIO_BACKUP_BUCKETS="books")
    book = f"book-{d.token}"
    seed_book(d, book)
    assert d.run().code == 0
    run, doc = inspect(d, book, "--compare-backup", "--verify-content")
    assert run.code == 0 and doc["backup"]["differences"] == []
    d.put("books", f"{book}/images/cover.png", b"\x89PNG changed")
    d.put("books", f"{book}/extra.txt", b"new")
    run, doc = inspect(d, book, "--compare-backup", "--verify-content")
    assert run.code == 1
    differences = "\n".join(doc["backup"]["differences"])
    assert "images/cover.png: size" in differences and "extra.txt: missing in the backup" in differences


def test_usage_error(deploy):
    d = deploy()
    assert d.run("inspect-book", "../etc").code == 2


CHROMIUM = shutil.which("chromium")


def test_html_page_opens_headless_and_shows_tree_and_image(deploy, tmp_path):
    assert CHROMIUM, "chromium is installed by tests/support/install_system_deps.sh"
    d = deploy()
    book = f"book-{d.token}"
    seed_book(d, book)
    page = tmp_path / "book.html"
    run = d.run("inspect-book", book, "--html", str(page))
    assert run.code == 0
    dom = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                          "--no-first-run", "--disable-background-networking", "--disable-component-update",
                          "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
                          page.as_uri()], capture_output=True, text=True, timeout=120, check=True).stdout
    assert 'data-images-loaded="yes"' in dom
    assert "cover.png" in dom and "page 1.png" in dom and "intro.mp4" in dom
    assert '<li class="folder">images/' in dom


def headless(page, profile, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                           "--no-first-run", "--disable-background-networking", "--disable-component-update",
                           "--disable-sync", f"--user-data-dir={profile}", *flags, "--dump-dom", page.as_uri()],
                          capture_output=True, text=True, timeout=120, check=True)


MEDIA_ELEMENT = re.compile(r'<(audio|video) controls="" preload="metadata" src="(data:([a-z0-9/]+);base64,([^"]+))">')


def test_html_page_plays_audio_and_video_inline(deploy, tmp_path):
    assert CHROMIUM, "chromium is installed by tests/support/install_system_deps.sh"
    d = deploy()
    book = f"book-{d.token}"
    objects = seed_book(d, book)
    page = tmp_path / "book.html"
    assert d.run("inspect-book", book, "--html", str(page)).code == 0
    # The page as the browser builds it, under its own Content-Security-Policy: no violation logged.
    shown = headless(page, tmp_path / "profile", "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000")
    assert "Content Security Policy" not in shown.stderr and "Refused to load" not in shown.stderr
    elements = MEDIA_ELEMENT.findall(shown.stdout)
    assert sorted((tag, mime) for tag, _, mime, _ in elements) == [
        ("audio", "audio/mpeg"), ("audio", "audio/wav"), ("video", "video/mp4")]
    expected = {f"{book}/audio/chapter-1.wav", f"{book}/audio/chapter-2.mp3", f"{book}/video/intro.mp4"}
    assert {base64.b64decode(data) for *_, data in elements} == {objects[k][0] for k in expected}
    # The same sources in a probe page that reports what the browser made of them: each one plays.
    probe = tmp_path / "probe.html"
    tags = "".join(f'<{tag} preload="auto" src="{html.escape(src)}"></{tag}>' for tag, src, _, _ in elements)
    probe.write_text(f"""<!DOCTYPE html><html><body>{tags}<script>
document.querySelectorAll('audio,video').forEach(function (e) {{
  e.addEventListener('loadedmetadata', function () {{ e.setAttribute('data-duration', String(e.duration)); }});
  e.addEventListener('error', function () {{ e.setAttribute('data-error', String(e.error.code)); }});
}});
</script></body></html>""")
    played = headless(probe, tmp_path / "probe-profile", "--virtual-time-budget=5000").stdout
    durations = [float(x) for x in re.findall(r'data-duration="([\d.]+)"', played)]
    assert 'data-error="' not in played and len(durations) == 3 and all(x > 0 for x in durations)


def test_html_page_names_media_too_large_to_embed_without_a_link(deploy, tmp_path):
    d = deploy()
    book = f"book-{d.token}"
    seed_book(d, book)
    d.put("books", f"{book}/video/full.mp4", b"\x00" * (4 * 1024 * 1024 + 1), content_type="video/mp4")
    page = tmp_path / "book.html"
    assert d.run("inspect-book", book, "--html", str(page)).code == 0
    text = page.read_text()
    assert re.search(r'<figure class="not-embedded"><figcaption>video/full\.mp4 .*?not embedded in this page', text)
    assert text.count("<video ") == 1 and "href=" not in text and "full.mp4\"" not in text
