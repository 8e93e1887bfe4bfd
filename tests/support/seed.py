"""Sample data for the test world and the demo: books, apps and trash on each source server, and the
versioned off-site bucket on the target server.

    python -m tests.support.seed --state DIR --sources primary1,primary2 --target offsite \
        --target-bucket dream-central-storage-backups

Seeding is idempotent: a source whose buckets exist already is left alone.
"""

from __future__ import annotations

import argparse
import io
import json
import struct
import sys
import zlib
from pathlib import Path

from minio import Minio
from minio.commonconfig import ENABLED
from minio.versioningconfig import VersioningConfig

from tests.support.s3world import S3World

SOURCE_BUCKETS = ("books", "apps", "trash")


def tiny_png(rgb: tuple[int, int, int], size: int = 8) -> bytes:
    """A valid size-by-size PNG of one colour (enough for a browser to render a preview)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes(rgb) * size
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(row * size)) + chunk(b"IEND", b""))


def tiny_wav(samples: int = 800) -> bytes:
    data = bytes((i * 7) % 256 for i in range(samples))
    return (b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt "
            + struct.pack("<IHHIIHH", 16, 1, 1, 8000, 8000, 1, 8) + b"data"
            + struct.pack("<I", len(data)) + data)


MP3_FRAME_HEADER = b"\xff\xfb\x90\xc0"  # MPEG-1 Layer III, no CRC, 128 kbit/s, 44.1 kHz, mono
MP3_FRAME_SIZE = 144 * 128000 // 44100  # 417 bytes, no padding
MP3_SAMPLES_PER_FRAME = 1152


def tiny_mp3(frames: int = 40) -> bytes:
    """Valid MP3 frames of silence (all-zero side information and main data), about a second."""
    return (MP3_FRAME_HEADER + b"\x00" * (MP3_FRAME_SIZE - len(MP3_FRAME_HEADER))) * frames


def _box(kind: bytes, *parts: bytes) -> bytes:
    body = b"".join(parts)
    return struct.pack(">I", 8 + len(body)) + kind + body


def _full_box(kind: bytes, version_flags: int, *parts: bytes) -> bytes:
    return _box(kind, struct.pack(">I", version_flags), *parts)


def _descriptor(tag: int, body: bytes) -> bytes:
    return bytes([tag, len(body)]) + body  # every descriptor here is shorter than 128 bytes


def tiny_mp4(frames: int = 40) -> bytes:
    """A valid, playable MP4 (ISO base media file) with one audio track: the MP3 frames of tiny_mp3()
    (object type 0x6B) in one chunk. Browsers play it in a <video> element."""
    rate, duration = 44100, frames * MP3_SAMPLES_PER_FRAME
    matrix = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    ftyp = _box(b"ftyp", b"isom", struct.pack(">I", 512), b"isomiso2mp41")
    esds = _full_box(b"esds", 0, _descriptor(0x03, struct.pack(">HB", 1, 0) + _descriptor(
        0x04, struct.pack(">BB", 0x6B, 0x15) + b"\x00\x00\x00" + struct.pack(">II", 128000, 128000))
        + _descriptor(0x06, b"\x02")))
    mp4a = _box(b"mp4a", b"\x00" * 6, struct.pack(">H", 1), b"\x00" * 8,
                struct.pack(">HHHHI", 1, 16, 0, 0, rate << 16), esds)

    def moov(chunk_offset: int) -> bytes:
        stbl = _box(b"stbl", _full_box(b"stsd", 0, struct.pack(">I", 1), mp4a),
                    _full_box(b"stts", 0, struct.pack(">III", 1, frames, MP3_SAMPLES_PER_FRAME)),
                    _full_box(b"stsc", 0, struct.pack(">IIII", 1, 1, frames, 1)),
                    _full_box(b"stsz", 0, struct.pack(">II", MP3_FRAME_SIZE, frames)),
                    _full_box(b"stco", 0, struct.pack(">II", 1, chunk_offset)))
        minf = _box(b"minf", _full_box(b"smhd", 0, b"\x00" * 4),
                    _box(b"dinf", _full_box(b"dref", 0, struct.pack(">I", 1), _full_box(b"url ", 1))), stbl)
        mdia = _box(b"mdia", _full_box(b"mdhd", 0, struct.pack(">IIIIHH", 0, 0, rate, duration, 0x55C4, 0)),
                    _full_box(b"hdlr", 0, b"\x00" * 4, b"soun", b"\x00" * 12, b"SoundHandler\x00"), minf)
        tkhd = _full_box(b"tkhd", 7, struct.pack(">IIIII", 0, 0, 1, 0, duration * 1000 // rate), b"\x00" * 8,
                         struct.pack(">hhhH", 0, 0, 0x0100, 0), matrix, struct.pack(">II", 0, 0))
        mvhd = _full_box(b"mvhd", 0, struct.pack(">IIIIIH", 0, 0, 1000, duration * 1000 // rate, 0x10000, 0x0100),
                         b"\x00" * 10, matrix, b"\x00" * 24, struct.pack(">I", 2))
        return _box(b"moov", mvhd, _box(b"trak", tkhd, mdia))

    header = len(ftyp) + len(moov(0)) + 8  # the frames start right after the mdat box header
    return ftyp + moov(header) + _box(b"mdat", tiny_mp3(frames))


def book_objects(book_id: str, title: str, colour: tuple[int, int, int]) -> dict[str, tuple[bytes, str]]:
    config = {"id": book_id, "title": title, "language": "en", "pages": 3}
    return {
        f"{book_id}/config.json": (json.dumps(config, indent=2).encode(), "application/json"),
        f"{book_id}/images/cover.png": (tiny_png(colour), "image/png"),
        f"{book_id}/images/pages/page 1.png": (tiny_png(colour[::-1]), "image/png"),
        f"{book_id}/audio/chapter-1.wav": (tiny_wav(), "audio/wav"),
        f"{book_id}/audio/chapter-2.mp3": (tiny_mp3(), "audio/mpeg"),
        f"{book_id}/video/intro.mp4": (tiny_mp4(), "video/mp4"),
    }


def sample_objects(source_name: str) -> dict[str, dict[str, tuple[bytes, str]]]:
    books: dict[str, tuple[bytes, str]] = {}
    books.update(book_objects("book-001", f"The Quiet Harbour ({source_name})", (200, 40, 40)))
    books.update(book_objects("book-002", "Ünïcödé Tales", (40, 160, 60)))
    apps = {
        "android/dream-reader-1.4.2.apk": (b"PK\x03\x04" + b"apk" * 2000, "application/octet-stream"),
        "ios/manifest.json": (json.dumps({"version": "1.4.2", "source": source_name}).encode(),
                              "application/json"),
        "release notes/2026-11 ñ.txt": (b"Notes for the November release\n", "text/plain"),
    }
    trash = {
        "books/book-000/config.json": (b'{"id": "book-000"}', "application/json"),
        "apps/old-build.apk": (b"PK\x03\x04" + b"old" * 500, "application/octet-stream"),
    }
    return {"books": books, "apps": apps, "trash": trash}


def put_all(client: Minio, bucket: str, objects: dict[str, tuple[bytes, str]]) -> None:
    for key, (body, content_type) in objects.items():
        client.put_object(bucket, key, io.BytesIO(body), len(body), content_type=content_type,
                          metadata={"x-amz-meta-seeded-by": "dcs-test-world"})


def ensure_versioned_bucket(client: Minio, bucket: str) -> bool:
    created = False
    if not client.bucket_exists(bucket):
        client.make_bucket(bucket)
        created = True
    client.set_bucket_versioning(bucket, VersioningConfig(ENABLED))
    return created


def seed(world: S3World, sources: list[str], target: str, target_bucket: str) -> list[str]:
    done = []
    for name in sources:
        client = world.by_name(name).client()
        for bucket, objects in sample_objects(name).items():
            if client.bucket_exists(bucket):
                continue
            client.make_bucket(bucket)
            put_all(client, bucket, objects)
            done.append(f"{name}/{bucket}")
    if ensure_versioned_bucket(world.by_name(target).client(), target_bucket):
        done.append(f"{target}/{target_bucket}")
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--state", required=True, type=Path)
    parser.add_argument("--sources", required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--target-bucket", required=True)
    args = parser.parse_args(argv)
    world = S3World.load(args.state.resolve())
    done = seed(world, args.sources.split(","), args.target, args.target_bucket)
    print("seeded " + ", ".join(done) if done else "already seeded")
    return 0


if __name__ == "__main__":
    sys.exit(main())
