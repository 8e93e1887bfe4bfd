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


class Lines:
    """A child run to completion whose stdout is read line by line (a listing of a million objects is
    never held whole), with run()'s environment, process group and timeout. Iterate it, then read
    ``finished``; stderr is drained by a thread (a full pipe would stall the child) and only its tail is
    kept."""

    def __init__(self, argv: list[str], env: dict[str, str], timeout: float | None = None):
        self.argv, self.env, self.timeout = argv, env, timeout
        self.finished: Finished | None = None

    def __iter__(self):
        proc = subprocess.Popen(self.argv, env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, errors="replace", start_new_session=True)
        tail: deque[str] = deque()
        kept = [0]

        def drain() -> None:
            for line in proc.stderr:
                tail.append(line)
                kept[0] += len(line)
                while kept[0] > STDERR_KEEP and len(tail) > 1:
                    kept[0] -= len(tail.popleft())

        expired = threading.Event()

        def expire() -> None:
            expired.set()
            _stop_group(proc)

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        timer = threading.Timer(self.timeout, expire) if self.timeout else None
        if timer:
            timer.daemon = True
            timer.start()
        try:
            yield from proc.stdout
        except BaseException:
            _stop_group(proc)
            raise
        finally:
            if timer:
                timer.cancel()
            proc.stdout.close()
            proc.wait()
            reader.join()
            proc.stderr.close()
            self.finished = Finished(proc.returncode, "", "".join(tail), timed_out=expired.is_set())
