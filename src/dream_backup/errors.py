"""Exit codes (the same for every command) and the exceptions that carry them."""

EXIT_OK = 0
EXIT_FAILURE = 1  # a runtime failure: a bucket's mirror or verification, network, auth, a drill mismatch
EXIT_REFUSED = 2  # refused before touching anything: configuration, log path, engine binary, arguments
EXIT_LOCKED = 75  # another run holds the lock (EX_TEMPFAIL)

EXIT_CODES_HELP = """exit codes:
  0   success
  1   runtime failure (a bucket's mirror or verification, network, authentication,
      missing bucket, a drill or restore mismatch)
  2   refused before touching anything (invalid or unreadable configuration, unwritable
      log or metrics path, engine binary missing or not what it claims, a lock, env
      file, binary or output file another user could tamper with, bad arguments,
      unversioned target bucket)
  75  another run holds the lock
"""


class DreamBackupError(Exception):
    exit_code = EXIT_FAILURE


class ConfigError(DreamBackupError):
    """Refused before touching anything (exit 2)."""

    exit_code = EXIT_REFUSED


class EngineError(DreamBackupError):
    """An engine call failed at run time (exit 1). The message is already free of secrets."""


class LockedError(DreamBackupError):
    """Another run holds the lock. ``pid`` and ``held_since`` (epoch seconds) when they are known."""

    exit_code = EXIT_LOCKED

    def __init__(self, message: str, pid: int | None = None, held_since: float | None = None):
        super().__init__(message)
        self.pid = pid
        self.held_since = held_since
