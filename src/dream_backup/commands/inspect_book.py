"""`dream-backup inspect-book ID [--compare-backup [--verify-content]] [--json] [--html FILE]`

The operator's read-only equivalent of the Admin Panel's content explorer drawer (RUNBOOK "Book
Content Explorer"): the complete folder tree of books/<ID>/ with sizes, config.json parsed (missing or
invalid is a problem), media by kind, and optionally every object checked against its off-site copy.
--html writes one self-contained page (no external requests) with inline previews: images, and
MP3/WAV audio and MP4 video with the browser's controls, as data: URIs up to a size limit (above it,
a note names the file; no link, the page makes no requests)."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import re

from dream_backup import safe_open
from dream_backup.engines.base import BACKUP, SOURCE, Location
from dream_backup.errors import EXIT_FAILURE, EXIT_OK, ConfigError, EngineError
from dream_backup.report import human_bytes, json_text, say, table

BOOKS = "books"
KINDS = {".png": "image", ".jpg": "image", ".jpeg": "image", ".webp": "image",
         ".mp3": "audio", ".wav": "audio", ".mp4": "video"}
MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp",
        ".mp3": "audio/mpeg", ".wav": "audio/wav", ".mp4": "video/mp4"}
PREVIEW_LIMIT = 512 * 1024
MEDIA_PREVIEW_LIMIT = 4 * 1024 * 1024  # audio and video: a page of a few MiB still opens quickly
CONFIG_LIMIT = 1024 * 1024
BOOK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


# The page's only script (marks whether every preview decoded). The CSP allows exactly this text by its
# hash, so markup from a hostile key or config.json that slipped past escaping could still run nothing.
SCRIPT = """
window.addEventListener('load', function () {
  var imgs = document.querySelectorAll('#images img');
  var ok = Array.prototype.every.call(imgs, function (i) { return i.complete && i.naturalWidth > 0; });
  document.body.setAttribute('data-images-loaded', imgs.length && ok ? 'yes' : 'no');
});
"""
SCRIPT_HASH = "sha256-" + base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()


def kind_of(key: str) -> str:
    dot = key.rfind(".")
    return KINDS.get(key[dot:].lower(), "other") if dot > key.rfind("/") else "other"


def read_small(engine, loc: Location, key: str, limit: int) -> bytes:
    with engine.open(loc, key) as proc:
        data = proc.stdout.read(limit + 1)
        if len(data) > limit:
            raise EngineError(f"{key} is larger than {limit} bytes")
        proc.stdout.read()
        err = proc.stderr.read().decode(errors="replace")
        if proc.wait() != 0:
            raise EngineError(f"reading {loc.join(key)} failed: {err.strip()[-200:]}")
    return data


def compare(engine, config, book: str, objects: dict, verify_content: bool, problems: list[str]) -> dict:
    backup_loc = Location(BACKUP, config.target_bucket, config.backup_path(BOOKS, book))
    backup = engine.list(backup_loc)
    source_loc = Location(SOURCE, BOOKS, book)
    result = {"checked": 0, "differences": []}
    for key, obj in sorted(objects.items()):
        result["checked"] += 1
        copy = backup.get(key)
        if copy is None:
            result["differences"].append(f"{key}: missing in the backup")
        elif copy.size != obj.size:
            result["differences"].append(f"{key}: size {copy.size} in the backup, {obj.size} in production")
        elif verify_content and engine.sha256(source_loc, key) != engine.sha256(backup_loc, key):
            result["differences"].append(f"{key}: content (sha256) differs from the backup")
    for key in sorted(set(backup) - set(objects)):
        result["differences"].append(f"{key}: only in the backup (deleted in production)")
    problems += result["differences"]
    return result


def run(ctx, args) -> int:
    if not BOOK_ID.match(args.book):
        raise ConfigError(f"book id '{args.book}' must be one folder name (letters, digits, '.', '_', '-')")
    engine = ctx.engine()
    source_loc = Location(SOURCE, BOOKS, args.book)
    objects = engine.list(source_loc)
    problems: list[str] = []
    if not objects:
        problems.append(f"books/{args.book}/ holds no objects")
    config_doc, config_text = None, None
    if "config.json" not in objects:
        problems.append("config.json is missing")
    else:
        config_text = read_small(engine, source_loc, "config.json", CONFIG_LIMIT).decode(errors="replace")
        try:
            config_doc = json.loads(config_text)
        except ValueError as exc:
            problems.append(f"config.json is not valid JSON: {exc}")
    tree = [{"key": k, "size": o.size, "kind": kind_of(k),
             "last_modified": o.mtime.isoformat() if o.mtime else None} for k, o in sorted(objects.items())]
    media = {kind: [t["key"] for t in tree if t["kind"] == kind] for kind in ("image", "audio", "video", "other")}
    document = {"book": args.book, "objects": len(tree), "bytes": sum(t["size"] for t in tree), "tree": tree,
                "config": config_doc, "media": media, "problems": problems}
    if args.compare_backup:
        document["backup"] = compare(engine, ctx.config, args.book, objects, args.verify_content, problems)
    if args.html:
        previews = {t["key"]: read_small(engine, source_loc, t["key"], PREVIEW_LIMIT)
                    for t in tree if t["kind"] == "image" and t["size"] <= PREVIEW_LIMIT}
        previews.update({t["key"]: read_small(engine, source_loc, t["key"], MEDIA_PREVIEW_LIMIT)
                         for t in tree if t["kind"] in ("audio", "video") and t["size"] <= MEDIA_PREVIEW_LIMIT})
        # 0600: the page shows production content to whoever may read it; the operator widens it on purpose.
        with os.fdopen(safe_open.open_replace(args.html, "HTML output", 0o600), "w", encoding="utf-8") as handle:
            handle.write(render_html(document, config_text, previews))
    if args.json:
        print(json_text(document))
    else:
        print_report(document)
    if problems:
        ctx.log.error("Book inspection failed", book=args.book, reason="; ".join(problems))
    return EXIT_FAILURE if problems else EXIT_OK


def print_report(document: dict) -> None:
    say(f"books/{document['book']}/ — {document['objects']} objects, {human_bytes(document['bytes'])}")
    print(table(["key", "size", "kind"], [[t["key"], human_bytes(t["size"]), t["kind"]] for t in document["tree"]]))
    if document["config"] is not None:
        print("config.json: " + json_text(document["config"], indent=None))
    for kind, keys in document["media"].items():
        if keys:
            say(f"{kind}: {', '.join(keys)}")
    if "backup" in document:
        print(f"backup: {document['backup']['checked']} objects checked, "
              f"{len(document['backup']['differences'])} differences")
    for problem in document["problems"]:
        say(f"PROBLEM: {problem}")
    print("OK" if not document["problems"] else f"{len(document['problems'])} problem(s) found")


def _tree_html(tree: list[dict]) -> str:
    """Nested lists of folders and files, from the flat key list."""
    root: dict = {}
    for item in tree:
        node = root
        parts = item["key"].split("/")
        for part in parts[:-1]:
            node = node.setdefault(part + "/", {})
        node[parts[-1]] = item

    def render(node: dict) -> str:
        rows = []
        for name, child in sorted(node.items(), key=lambda kv: (not kv[0].endswith("/"), kv[0])):
            if name.endswith("/"):
                rows.append(f'<li class="folder">{html.escape(name)}{render(child)}</li>')
            else:
                rows.append(f'<li class="file {child["kind"]}">{html.escape(name)} '
                            f'<span class="size">{human_bytes(child["size"])}</span></li>')
        return "<ul>" + "".join(rows) + "</ul>"

    return render(root)


def data_uri(key: str, data: bytes) -> str:
    return f'data:{MIME[key[key.rfind("."):].lower()]};base64,{base64.b64encode(data).decode()}'


def media_html(kind: str, key: str, data: bytes | None, size: int) -> str:
    """An <audio>/<video> element with the browser's controls, or a note when the file is too large
    to embed (no link: the page stays self-contained and makes no requests)."""
    caption = f"<figcaption>{html.escape(key)} <span class=\"size\">{human_bytes(size)}</span></figcaption>"
    if data is None:
        return (f'<figure class="not-embedded">{caption}<p class="note">larger than '
                f"{human_bytes(MEDIA_PREVIEW_LIMIT)}: not embedded in this page</p></figure>")
    return f'<figure><{kind} controls preload="metadata" src="{data_uri(key, data)}"></{kind}>{caption}</figure>'


def render_html(document: dict, config_text: str | None, previews: dict[str, bytes]) -> str:
    book = html.escape(document["book"])
    images = "".join(
        f'<figure><img alt="{html.escape(k)}" src="{data_uri(k, data)}"><figcaption>{html.escape(k)}</figcaption>'
        "</figure>" for k, data in previews.items() if kind_of(k) == "image")
    sizes = {t["key"]: t["size"] for t in document["tree"]}
    media = "".join(f'<h3>{kind}</h3><div class="{kind}">' + "".join(media_html(kind, k, previews.get(k), sizes[k])
                                                                    for k in keys) + "</div>"
                    for kind, keys in document["media"].items() if keys and kind in ("audio", "video"))
    problems = "".join(f"<li>{html.escape(p)}</li>" for p in document["problems"])
    config = html.escape(config_text) if config_text is not None else "(missing)"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; media-src data:;
 style-src 'unsafe-inline'; script-src '{SCRIPT_HASH}'">
<title>books/{book}</title>
<style>body{{font-family:sans-serif;margin:2em}} .size{{color:#666}} figure{{display:inline-block;margin:.5em}}
img{{max-width:240px;max-height:240px;border:1px solid #ccc}} .problems{{color:#b00}}</style></head>
<body data-images-loaded="pending">
<h1>books/{book}/</h1>
<p>{document['objects']} objects, {human_bytes(document['bytes'])}</p>
<h2>Problems</h2><ul class="problems">{problems or '<li class="none">none</li>'}</ul>
<h2>Folder tree</h2><div id="tree">{_tree_html(document['tree'])}</div>
<h2>config.json</h2><pre id="config">{config}</pre>
<h2>Images</h2><div id="images">{images}</div>
<h2>Audio and video</h2>{media or '<p>none</p>'}
<script>{SCRIPT}</script>
</body></html>
"""
