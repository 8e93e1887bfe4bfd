"""Command line: `dream-backup [--env-file F] [--log-path F] [COMMAND] [options]`; without a command it
runs a backup.

The command is the first token after the global options (--env-file, --log-path) and nothing else, so
an option's value may equal a command's name (`dream-backup --bucket check` backs up a bucket called
check). Adding a command takes a module in commands/ (its `run`), one options function and one entry in
COMMANDS here, and the command's name in library/backup_command.py (its COMMANDS list and the `command`
option's choices in DOCUMENTATION; WRITING too when the command writes) so the Ansible module can run it."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from dream_backup import VERSION, envspec, facts, metrics, outcome, writekey
from dream_backup import config as configuration
from dream_backup.engines import make_engine
from dream_backup.errors import EXIT_CODES_HELP, EXIT_FAILURE, EXIT_REFUSED, ConfigError, DreamBackupError, LockedError
from dream_backup.log import BACKUP_FAILED, RunLog, Scrubber, StderrLog

DEFAULT_ENV_FILE = facts.ENV_FILE
DEFAULT_COMMAND = "backup"
GLOBAL_VALUE_OPTIONS = ("--env-file", "--log-path")
DRILL_SAMPLES = 5
DRILL_MAX_SIZE_MIB = 256


def bucket_name(text: str) -> str:
    reason = envspec.bucket_error(text)
    if reason:
        raise argparse.ArgumentTypeError(f"{text!r} {reason}")  # repr: never echo control characters
    return text


def json_flag(parser: argparse.ArgumentParser, text: str = "print one JSON document") -> None:
    parser.add_argument("--json", action="store_true", help=text)


def backup_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", action="version", version=f"dream-backup {VERSION}")
    parser.add_argument("--bucket", action="append", type=bucket_name, help="back up only this bucket (repeatable)")
    parser.add_argument("--dry-run", action="store_true",
                        help="compute the plan from listings and print it, with the guard's counts; copy nothing")
    parser.add_argument("--accept-changes", action="store_true",
                        help="run once with the guard off for these buckets (--bucket, else all) and log who "
                             "accepted what (docs/guard.md)")
    json_flag(parser, "print the per-bucket results as JSON")


def drill_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bucket", action="append", type=bucket_name, help="drill only this bucket (repeatable)")
    parser.add_argument("--samples", type=int, default=DRILL_SAMPLES,
                        help=f"objects sampled per bucket (default {DRILL_SAMPLES})")
    parser.add_argument("--max-size", type=int, default=DRILL_MAX_SIZE_MIB * 1024 * 1024,
                        help=f"largest object sampled, bytes (default {DRILL_MAX_SIZE_MIB} MiB)")
    parser.add_argument("--seed", help="seed of the sample choice (repeatable drills)")
    json_flag(parser)


def verify_content_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bucket", action="append", type=bucket_name, help="verify only this bucket (repeatable)")
    parser.add_argument("--slice", metavar="N/M", help="verify slice N of M (default: today's slice of "
                        "BACKUP_VERIFY_SLICES, so daily runs read every object once per cycle)")
    json_flag(parser)


def rehearse_options(parser: argparse.ArgumentParser) -> None:
    from dream_backup.commands.rehearse import DEFAULT_SAMPLE_BYTES, parse_size  # noqa: PLC0415

    def size(text: str) -> int:
        try:
            return parse_size(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parser.add_argument("--bucket", required=True, type=bucket_name, help="bucket whose backup is rehearsed")
    parser.add_argument("--sample-bytes", type=size, default=DEFAULT_SAMPLE_BYTES, metavar="SIZE",
                        help="restore whole top-level prefixes until at least SIZE (256MiB, 1GiB or bytes; "
                             "default 256MiB, or the whole bucket when smaller)")
    parser.add_argument("--seed", help="seed of the sample choice (repeatable rehearsals)")
    json_flag(parser)


def check_options(parser: argparse.ArgumentParser) -> None:
    json_flag(parser)


def ls_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("side", choices=["source", "backup"])
    parser.add_argument("path", nargs="?", help="BUCKET[/PREFIX]; without it, a count per bucket")
    json_flag(parser, "print JSON")
    history_flags(parser, version_id=False)


def restore_options(parser: argparse.ArgumentParser) -> None:
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
    json_flag(parser)
    history_flags(parser, version_id=True)


def versions_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bucket", required=True, type=bucket_name, help="bucket whose backup is listed")
    parser.add_argument("--prefix", default="", help="only keys under this prefix (a folder, one book, one key)")
    json_flag(parser)


def history_flags(parser: argparse.ArgumentParser, version_id: bool) -> None:
    parser.add_argument("--as-of", metavar="T", help="the backup as it was at T: RFC 3339 (2026-11-28T01:00:00Z), "
                        "a date (2026-11-28, UTC) or a duration back from now (36h, 7d)")
    if version_id:
        parser.add_argument("--version-id", metavar="ID",
                            help="restore exactly this version of the one key named by --prefix")


def trash_report_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--now", help="evaluate the countdown at this time (ISO 8601), default now")
    parser.add_argument("--key", action="append", help="only answer for this key (repeatable)")
    json_flag(parser)


def inspect_book_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("book", help="the book's folder name in the books bucket")
    parser.add_argument("--compare-backup", action="store_true", help="check every object's off-site copy")
    parser.add_argument("--verify-content", action="store_true", help="with --compare-backup: compare sha256")
    parser.add_argument("--html", help="write a self-contained HTML page to this file")
    json_flag(parser)


@dataclass(frozen=True)
class Command:
    help: str
    failed: str  # the log message of a run of this command that ends non-zero
    options: Callable[[argparse.ArgumentParser], None]
    module: str  # dream_backup.commands.<module>.run(ctx, args) -> exit code

    @property
    def skipped(self) -> str:
        # "Restore rehearsal failed" -> "Restore rehearsal skipped: …" (the whole name of what was skipped)
        return f"{self.failed.rsplit(' ', 1)[0]} skipped: another run is in progress"


COMMANDS = {
    "backup": Command("mirror every bucket (or --bucket B) to the off-site bucket and verify it (the default)",
                      BACKUP_FAILED, backup_options, "backup"),
    "drill": Command("restore drill: sample objects on both sides and compare sha256",
                     "Drill failed", drill_options, "drill"),
    "verify-content": Command("compare sha256 of the backup and production copies of every object in one slice",
                              "Content verification failed", verify_content_options, "verify_content"),
    "check": Command("preflight: engine binary, endpoints, credentials, buckets, target versioning",
                     "Check failed", check_options, "check"),
    "ls": Command("list objects on the source or in the backup through the configured engine",
                  "Listing failed", ls_options, "ls"),
    "restore": Command("copy a bucket, a prefix or one book back from the backup (to production or a new bucket)",
                       "Restore failed", restore_options, "restore"),
    "trash-report": Command("retention countdown of every object in trash, and whether its off-site copy exists",
                            "Trash report failed", trash_report_options, "trash_report"),
    "inspect-book": Command("folder tree, config.json and media of books/ID, optionally checked against the backup",
                            "Book inspection failed", inspect_book_options, "inspect_book"),
    "versions": Command("every version of every key in the backup of a bucket (or prefix), newest first",
                        "Listing failed", versions_options, "versions"),
    "rehearse": Command("timed restore rehearsal: restore a sample into a scratch bucket, verify, estimate, "
                        "remove it", "Restore rehearsal failed", rehearse_options, "rehearse"),
}


class ArgumentsError(Exception):
    """Bad arguments (exit 2): raised instead of argparse's own exit, so the refusal is logged."""

    def __init__(self, parser: argparse.ArgumentParser, message: str):
        super().__init__(message)
        self.usage = parser.format_usage()


class Parser(argparse.ArgumentParser):
    def error(self, message: str):
        raise ArgumentsError(self, message)


def global_options(parser: argparse.ArgumentParser, top: bool) -> None:
    # Below the command the defaults are suppressed, so a value given before the command survives.
    parser.add_argument("--env-file", default=DEFAULT_ENV_FILE if top else argparse.SUPPRESS,
                        help=f"env file with the runbook's variables (default {DEFAULT_ENV_FILE})")
    parser.add_argument("--log-path", default=None if top else argparse.SUPPRESS,
                        help="structured log file (overrides MINIO_BACKUP_LOG)")


def build_parser() -> Parser:
    parser = Parser(prog="dream-backup", allow_abbrev=False, formatter_class=argparse.RawDescriptionHelpFormatter,
                    description="Dream Central Storage backup of MinIO buckets to an off-site S3 bucket.\n"
                                "Without a COMMAND: backup (`dream-backup backup --help` lists its options).",
                    epilog=EXIT_CODES_HELP)
    global_options(parser, top=True)
    parser.add_argument("--version", action="version", version=f"dream-backup {VERSION}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands", parser_class=Parser,
                                required=True)
    for name, command in COMMANDS.items():
        child = sub.add_parser(name, help=command.help, description=command.help, epilog=EXIT_CODES_HELP,
                               allow_abbrev=False, formatter_class=argparse.RawDescriptionHelpFormatter)
        global_options(child, top=False)
        command.options(child)
    return parser


def command_index(argv: list[str]) -> tuple[str | None, int]:
    """The command named at the command's position (after global options only) and that position."""
    index = 0
    while index < len(argv):
        token = argv[index]
        if token in GLOBAL_VALUE_OPTIONS and index + 1 < len(argv):
            index += 2
        elif token.startswith(tuple(f"{name}=" for name in GLOBAL_VALUE_OPTIONS)):
            index += 1
        else:
            return (token if token in COMMANDS else None), index
    return None, len(argv)


def parse(argv: list[str]) -> argparse.Namespace:
    name, index = command_index(argv)
    if name is None and (index >= len(argv) or argv[index] not in ("-h", "--help", "--version")):
        argv = [*argv[:index], DEFAULT_COMMAND, *argv[index:]]
    return build_parser().parse_args(argv)


def declared(argv: list[str], option: str) -> str | None:
    """An option's last value in argv, read without the parser (for arguments the parser refused)."""
    value = None
    for index, token in enumerate(argv):
        if token == option and index + 1 < len(argv) and not argv[index + 1].startswith("-"):
            value = argv[index + 1]
        elif token.startswith(option + "="):
            value = token.split("=", 1)[1]
    return value


class Context:
    """What every command needs: configuration, the log, a secret scrubber and the engine."""

    def __init__(self, args):
        self.args = args
        self.config = configuration.load(args.env_file, overrides={"MINIO_BACKUP_LOG": args.log_path})
        # Restores and rehearsals write production with a key of their own (docs/security.md).
        if args.command == "restore":
            self.config = writekey.for_restore(self.config, os.environ, args.dry_run)
        elif args.command == "rehearse":
            self.config = writekey.for_rehearsal(self.config, os.environ)
        self.scrub = Scrubber(self.config.secrets)
        self.log = RunLog(self.config.log_path, self.scrub)
        if self.config.metrics_file and args.command in ("backup", "drill", "verify-content", "rehearse"):
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


def refused(command: str, env_file: str | None, log_path: str | None, buckets, reason: str, code: int,
            dry_run: bool = False) -> int:
    """A run that ended before its configuration was usable: report it wherever that can still be
    determined (flags > environment > env file, even an invalid one > defaults); stderr alone only
    when the log file itself cannot be written."""
    values, secrets = configuration.best_effort(env_file, overrides={"MINIO_BACKUP_LOG": log_path})
    scrub = Scrubber(secrets)
    try:
        log = RunLog(values["MINIO_BACKUP_LOG"], scrub)
    except ConfigError:
        log = StderrLog(scrub)
    try:
        if command == "backup":
            listed = [b.strip() for b in values.get("MINIO_BACKUP_BUCKETS", "").split(",") if b.strip()]
            # None: every bucket the run would have backed up. Bad arguments name none (nothing ran), so
            # they leave every bucket's last verdict as it was.
            outcome.backup_failed(log, reason=reason, code=code, buckets=listed if buckets is None else buckets,
                                  metrics_file=values.get("BACKUP_METRICS_FILE", ""),
                                  healthcheck_url=values.get("BACKUP_HEALTHCHECK_URL", ""), dry_run=dry_run)
        else:
            log.error(COMMANDS[command].failed, reason=reason)
    finally:
        log.close()
    return code


def failed(ctx: Context, reason: str, code: int, every_bucket: bool = True) -> int:
    command, config = ctx.args.command, ctx.config
    if command == "backup":
        buckets = (ctx.args.bucket or list(config.buckets)) if every_bucket else []
        outcome.backup_failed(ctx.log, reason=reason, code=code, buckets=buckets, metrics_file=config.metrics_file,
                              healthcheck_url=config.healthcheck_url, dry_run=ctx.args.dry_run)
    else:
        ctx.log.error(COMMANDS[command].failed, reason=reason)
    return code


def locked(ctx: Context, exc: LockedError) -> int:
    pid, since = facts.lock_pid_and_since(ctx.config.lock_file)
    pid = exc.pid if exc.pid is not None else pid
    since = exc.held_since if exc.held_since is not None else since
    if ctx.args.command == "backup":
        outcome.backup_skipped(ctx.log, reason=str(exc), pid=pid, held_since=since,
                               stale_after=ctx.config.lock_stale_after, metrics_file=ctx.config.metrics_file,
                               healthcheck_url=ctx.config.healthcheck_url)
    else:
        ctx.log.warning(COMMANDS[ctx.args.command].skipped, reason=str(exc), pid=pid)
    return exc.exit_code


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parse(argv)
    except ArgumentsError as exc:
        print(f"{exc.usage}dream-backup: error: {exc}", file=sys.stderr)
        name, _ = command_index(argv)
        return refused(name or DEFAULT_COMMAND, declared(argv, "--env-file") or DEFAULT_ENV_FILE,
                       declared(argv, "--log-path"), [], f"bad arguments: {exc}", EXIT_REFUSED,
                       dry_run="--dry-run" in argv)
    try:
        ctx = Context(args)
    except DreamBackupError as exc:
        return refused(args.command, args.env_file, args.log_path, getattr(args, "bucket", None),
                       str(exc), exc.exit_code, dry_run=getattr(args, "dry_run", False))
    handler = importlib.import_module(f"dream_backup.commands.{COMMANDS[args.command].module}").run
    try:
        code = handler(ctx, args)
        if code and not ctx.log.errors:  # a non-zero end always leaves its line, whatever the command
            ctx.log.error(COMMANDS[args.command].failed, reason=f"ended with exit code {code}")
        return code
    except LockedError as exc:
        return locked(ctx, exc)
    except DreamBackupError as exc:
        return failed(ctx, str(exc), exc.exit_code)
    except KeyboardInterrupt:
        return failed(ctx, "interrupted", EXIT_FAILURE, every_bucket=False)
    except Exception as exc:  # noqa: BLE001 - an unforeseen error must still reach the log, not only a traceback
        print(ctx.scrub(traceback.format_exc()), file=sys.stderr)
        return failed(ctx, ctx.scrub(f"internal error: {type(exc).__name__}: {exc}"), EXIT_FAILURE, every_bucket=False)
    finally:
        ctx.close()
