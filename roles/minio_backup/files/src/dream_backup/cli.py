"""Command line: `dream-backup [COMMAND] [options]`; without a command it runs a backup."""

from __future__ import annotations

import argparse
import sys

from dream_backup import VERSION, envspec, metrics
from dream_backup import config as configuration
from dream_backup.engines import make_engine
from dream_backup.errors import EXIT_CODES_HELP, EXIT_FAILURE, DreamBackupError, LockedError
from dream_backup.log import BACKUP_FAILED, RunLog, Scrubber

DEFAULT_ENV_FILE = "/etc/dream-central-storage/backup.env"
COMMANDS = {
    "backup": "mirror every bucket (or --bucket B) to the off-site bucket and verify it (the default)",
    "drill": "restore drill: sample objects on both sides and compare sha256",
    "check": "preflight: engine binary, endpoints, credentials, buckets, target versioning",
    "ls": "list objects on the source or in the backup through the configured engine",
    "restore": "copy a bucket, a prefix or one book back from the backup (to production or a new bucket)",
    "trash-report": "retention countdown of every object in trash, and whether its off-site copy exists",
    "inspect-book": "folder tree, config.json and media of books/ID, optionally checked against the backup",
}
FAILED_MESSAGE = {"backup": BACKUP_FAILED, "drill": "Drill failed", "check": "Check failed",
                  "ls": "Listing failed", "restore": "Restore failed", "trash-report": "Trash report failed",
                  "inspect-book": "Book inspection failed"}


class Context:
    """What every command needs: configuration, the log, a secret scrubber and the engine."""

    def __init__(self, args):
        self.args = args
        self.config = configuration.load(args.env_file, overrides={"MINIO_BACKUP_LOG": args.log_path})
        self.scrub = Scrubber(self.config.secrets)
        self.log = RunLog(self.config.log_path, self.scrub)
        if self.config.metrics_file and args.command in ("backup", "drill"):
            try:
                metrics.check_writable(self.config.metrics_file)
            except DreamBackupError:
                self.log.close()
                raise
        self._engine = None

    def engine(self, require: bool = True):
        if self._engine is None:
            self._engine = make_engine(self.config, self.scrub)
            if require:
                self._engine.require_binary()
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
        self.log.close()


def common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env-file", default=DEFAULT_ENV_FILE,
                        help=f"env file with the runbook's variables (default {DEFAULT_ENV_FILE})")
    parser.add_argument("--log-path", help="structured log file (overrides MINIO_BACKUP_LOG)")


def build_parser(command: str) -> argparse.ArgumentParser:
    description = "Dream Central Storage backup of MinIO buckets to an off-site S3 bucket.\n\ncommands:\n" + \
        "\n".join(f"  {name:<8} {text}" for name, text in COMMANDS.items())
    parser = argparse.ArgumentParser(
        prog="dream-backup" if command == "backup" else f"dream-backup {command}",
        description=description if command == "backup" else COMMANDS[command],
        epilog=EXIT_CODES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    common(parser)
    if command == "backup":
        parser.add_argument("--version", action="version", version=f"dream-backup {VERSION}")
        parser.add_argument("--bucket", action="append", type=bucket_name, help="back up only this bucket (repeatable)")
        parser.add_argument("--dry-run", action="store_true",
                            help="compute the plan from listings and print it; copy nothing")
        parser.add_argument("--json", action="store_true", help="print the per-bucket results as JSON")
    elif command == "drill":
        parser.add_argument("--bucket", action="append", type=bucket_name, help="drill only this bucket (repeatable)")
        parser.add_argument("--samples", type=int, default=5, help="objects sampled per bucket (default 5)")
        parser.add_argument("--max-size", type=int, default=256 * 1024 * 1024,
                            help="largest object sampled, bytes (default 256 MiB)")
        parser.add_argument("--seed", help="seed of the sample choice (repeatable drills)")
        parser.add_argument("--json", action="store_true", help="print one JSON document")
    elif command == "check":
        parser.add_argument("--json", action="store_true", help="print one JSON document")
    elif command == "restore":
        parser.add_argument("--bucket", required=True, type=bucket_name, help="bucket to restore")
        parser.add_argument("--prefix", default="", help="only keys under this prefix (a folder, one book)")
        parser.add_argument("--to-bucket", type=bucket_name,
                            help="restore into this bucket (created when missing) instead of in place")
        parser.add_argument("--overwrite", action="store_true",
                            help="replace objects that exist at the destination with different content")
        parser.add_argument("--verify-content", action="store_true",
                            help="also compare sha256 of every restored object with its backup copy")
        parser.add_argument("--allow-trash-in-place", action="store_true",
                            help="allow restoring 'trash' into itself (brings back purged objects)")
        parser.add_argument("--dry-run", action="store_true", help="print what would be restored; copy nothing")
        parser.add_argument("--json", action="store_true", help="print one JSON document")
    elif command == "trash-report":
        parser.add_argument("--now", help="evaluate the countdown at this time (ISO 8601), default now")
        parser.add_argument("--key", action="append", help="only answer for this key (repeatable)")
        parser.add_argument("--json", action="store_true", help="print one JSON document")
    elif command == "inspect-book":
        parser.add_argument("book", help="the book's folder name in the books bucket")
        parser.add_argument("--compare-backup", action="store_true", help="check every object's off-site copy")
        parser.add_argument("--verify-content", action="store_true", help="with --compare-backup: compare sha256")
        parser.add_argument("--html", help="write a self-contained HTML page to this file")
        parser.add_argument("--json", action="store_true", help="print one JSON document")
    elif command == "ls":
        parser.add_argument("side", choices=["source", "backup"])
        parser.add_argument("path", nargs="?", help="BUCKET[/PREFIX]; without it, a count per bucket")
        parser.add_argument("--json", action="store_true", help="print JSON")
    return parser


def bucket_name(text: str) -> str:
    reason = envspec.bucket_error(text)
    if reason:
        raise argparse.ArgumentTypeError(f"{text!r} {reason}")  # repr: never echo control characters
    return text


def split_command(argv: list[str]) -> tuple[str, list[str]]:
    for index, token in enumerate(argv):
        if token in COMMANDS:
            return token, argv[:index] + argv[index + 1:]
    return "backup", argv


def handler(command: str):
    from dream_backup.commands import (  # noqa: PLC0415 - keeps --help fast
        backup,
        check,
        drill,
        inspect_book,
        ls,
        restore,
        trash_report,
    )

    return {"backup": backup.run, "drill": drill.run, "check": check.run, "ls": ls.run, "restore": restore.run,
            "trash-report": trash_report.run, "inspect-book": inspect_book.run}[command]


def main(argv: list[str] | None = None) -> int:
    command, rest = split_command(list(sys.argv[1:] if argv is None else argv))
    args = build_parser(command).parse_args(rest)  # exits 2 on bad arguments
    args.command = command
    try:
        ctx = Context(args)
    except DreamBackupError as exc:
        print(f"dream-backup: {exc}", file=sys.stderr)
        return exc.exit_code
    try:
        return handler(command)(ctx, args)
    except LockedError as exc:
        ctx.log.warning(f"{FAILED_MESSAGE[command].split()[0]} skipped: another run is in progress", reason=str(exc))
        return exc.exit_code
    except DreamBackupError as exc:
        ctx.log.error(FAILED_MESSAGE[command], reason=str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        ctx.log.error(FAILED_MESSAGE[command], reason="interrupted")
        return EXIT_FAILURE
    finally:
        ctx.close()

