"""Child processes of the engines: a minimal, explicit environment (never the caller's: an inherited
AWS_CA_BUNDLE breaks Debian's rclone, and credentials must reach only the engine), a process group of
their own, and a timeout that stops the whole group."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections import deque
from dataclasses import dataclass

SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def child_env(home: str, extra: dict[str, str]) -> dict[str, str]:
    env = {"PATH": SAFE_PATH, "HOME": home, "LANG": "C", "LC_ALL": "C"}
    env.update(extra)
    return env


@dataclass
class Finished:
    returncode: int
    stdout: str
    stderr: str
    timed_out: bool = False


def _stop_group(proc: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def run(argv: list[str], env: dict[str, str], timeout: float | None = None) -> Finished:
    """Run to completion; on timeout the process group is stopped and timed_out is set."""
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, errors="replace", start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop_group(proc)
        out, err = proc.communicate()
        return Finished(proc.returncode, out, err, timed_out=True)
    except BaseException:
        _stop_group(proc)
        raise
    return Finished(proc.returncode, out, err)


@contextlib.contextmanager
def stream(argv: list[str], env: dict[str, str]):
    """A running child whose stdout is read as bytes by the caller (flat memory for large objects)."""
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            _stop_group(proc)
        proc.stdout.close()
        proc.stderr.close()
        proc.wait()


STDERR_KEEP = 64 * 1024  # characters of a streamed child's stderr kept for its failure message


class _Tail:
    """The last STDERR_KEEP characters of a stream of lines (never fewer than its last line)."""

    def __init__(self):
        self.lines: deque[str] = deque()
        self.kept = 0

    def add(self, line: str) -> None:
        self.lines.append(line)
        self.kept += len(line)
        while self.kept > STDERR_KEEP and len(self.lines) > 1:
            self.kept -= len(self.lines.popleft())

    def text(self) -> str:
        return "".join(self.lines)


class Lines:
    """A child run to completion whose stdout is read line by line (a listing of a million objects is
    never held whole), with run()'s environment, process group and timeout. Iterate it, then read
    ``finished``; stderr is drained by a thread (a full pipe would stall the child) and only its tail is
    kept. With ``merge_stderr`` the child's stderr goes into the same pipe (an engine that logs there,
    as rclone does) and the tail kept is that of everything it wrote."""

    def __init__(self, argv: list[str], env: dict[str, str], timeout: float | None = None,
                 merge_stderr: bool = False):
        self.argv, self.env, self.timeout, self.merge_stderr = argv, env, timeout, merge_stderr
        self.finished: Finished | None = None

    def __iter__(self):
        proc = subprocess.Popen(self.argv, env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT if self.merge_stderr else subprocess.PIPE,
                                text=True, errors="replace", start_new_session=True)
        tail = _Tail()

        def drain() -> None:
            for line in proc.stderr:
                tail.add(line)

        expired = threading.Event()

        def expire() -> None:
            expired.set()
            _stop_group(proc)

        reader = None if self.merge_stderr else threading.Thread(target=drain, daemon=True)
        if reader:
            reader.start()
        timer = threading.Timer(self.timeout, expire) if self.timeout else None
        if timer:
            timer.daemon = True
            timer.start()
        try:
            for line in proc.stdout:
                if self.merge_stderr:
                    tail.add(line)
                yield line
        except BaseException:
            _stop_group(proc)
            raise
        finally:
            if timer:
                timer.cancel()
            proc.stdout.close()
            proc.wait()
            if reader:
                reader.join()
                proc.stderr.close()
            self.finished = Finished(proc.returncode, "", tail.text(), timed_out=expired.is_set())
