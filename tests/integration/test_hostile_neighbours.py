"""Hostile neighbours and hostile input: another local account on the VPS (uid 65534, through setpriv)
tries to stop, trick or hijack the root-run job; crafted arguments try to forge log lines and metrics.
Every attempt must be ignored or refused with exit 2 and a clear reason, never a traceback."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from minio.error import S3Error

from tests.support.http_files import FileServer
from tests.support.program import PROGRAM
from tests.support.seed import book_objects

NOBODY = 65534
AS_NOBODY = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
SYSTEM_PYTHON = "/usr/bin/python3"
# The neighbour's lock holder: prints "locked" once it holds the flock, then waits for its stdin to close.
HOLDER = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
os.write(fd, sys.argv[2].encode())
print("locked", flush=True)
sys.stdin.read()
"""
FORGED = "Backup completed\n2026-01-01T00:00:00Z INFO Backup completed \x1b[2J"


@contextlib.contextmanager
def holding(path: Path, text: str = "", as_nobody: bool = True):
    """A process (the neighbour's, by default) that holds a flock on ``path``; yields its first line."""
    argv = [*(AS_NOBODY if as_nobody else []), SYSTEM_PYTHON, "-c", HOLDER, str(path), text]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        yield proc.stdout.readline().strip()
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)
        proc.stdout.close()
        proc.stderr.close()


def as_nobody(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([*AS_NOBODY, *argv], capture_output=True, text=True, timeout=60, check=False)


def seed_book(d, book: str, config: bytes = b'{"title": "T"}') -> None:
    with contextlib.suppress(S3Error):  # another test may create it at the same moment
        d.src.make_bucket("books")
    for key, (body, content_type) in book_objects(book, "Title", (10, 120, 200)).items():
        d.put("books", key, body, content_type=content_type)
    d.put("books", f"{book}/config.json", config, content_type="application/json")


def nothing_backed_up(d) -> bool:
    return list(d.dst.list_objects(d.target_bucket, recursive=True)) == []


def assert_refused(run, *words: str) -> None:
    assert run.code == 2, (run.code, run.stderr)
    assert "Traceback" not in run.stderr + run.stdout, run.stderr
    for word in words:
        assert word in run.stderr, (word, run.stderr)


# --- the lock ------------------------------------------------------------------------------------------

def test_neighbour_holding_the_old_lock_cannot_stop_a_backup(deploy, shared_dir):
    old_dir = shared_dir / "lock"  # what /run/lock is: world-writable and sticky
    old_dir.mkdir()
    old_dir.chmod(0o1777)
    (shared_dir / "run").mkdir(mode=0o755)
    new_lock = shared_dir / "run" / "dream-backup" / "dream-backup.lock"
    d = deploy(BACKUP_LOCK_FILE=str(new_lock))
    d.put(d.buckets[0], "doc.txt", b"data")
    with holding(old_dir / "dream-backup.lock", FORGED) as state:
        assert state == "locked"
        run = d.run()
        assert run.code == 0, run.stderr
        assert run.log[-1]["message"] == "Backup completed"
        assert d.backup_keys(d.buckets[0]) == {"doc.txt"}

        # The program made the new lock's directory root's alone; the neighbour can put nothing there.
        st = new_lock.parent.stat()
        assert (st.st_uid, st.st_mode & 0o7777) == (0, 0o700)
        attempt = as_nobody("touch", str(new_lock.parent / "mine"))
        assert attempt.returncode != 0 and "Permission denied" in attempt.stderr
        assert not (new_lock.parent / "mine").exists()
        assert as_nobody(SYSTEM_PYTHON, "-c", HOLDER, str(new_lock), "").returncode != 0

        # Configured back to the old, shared place, the lock is refused, and the holder is not waited for.
        d.write_env(BACKUP_LOCK_FILE=str(old_dir / "dream-backup.lock"))
        run = d.run()
        assert_refused(run, str(old_dir), "lock directory", "writable by group or others")
        assert run.log[-1]["message"] == "Backup failed"
        assert "Backup completed" not in run.stderr and "\x1b" not in run.stderr


def test_holder_text_is_quoted_never_echoed(deploy):
    d = deploy()
    with holding(d.root / "dream-backup.lock", FORGED, as_nobody=False) as state:
        assert state == "locked"
        run = d.run()
    assert run.code == 75
    assert "\x1b" not in run.stderr
    assert not any(line.startswith("2026-01-01") or line == "Backup completed" for line in run.stderr.splitlines())
    reason = run.log[-1]["reason"]
    assert "another run holds the lock" in reason and repr(FORGED.encode()[:64].strip().decode()) in reason


@pytest.mark.parametrize("plant", ["symlink", "fifo", "foreign", "hardlink"])
def test_something_planted_at_the_lock_path_is_refused(deploy, plant):
    d = deploy()
    d.put(d.buckets[0], "doc.txt", b"data")
    lock = d.root / "dream-backup.lock"
    victim = d.root / "precious.txt"
    victim.write_text("precious\n")
    if plant == "symlink":
        lock.symlink_to(victim)
        words = ("a symbolic link",)
    elif plant == "fifo":
        os.mkfifo(lock, 0o666)
        words = ("a FIFO",)
    elif plant == "foreign":
        lock.write_text("")
        os.chown(lock, NOBODY, NOBODY)
        words = ("owned by", f"uid {NOBODY}")
    else:
        os.link(victim, lock)
        words = ("2 hard links",)
    run = d.run()
    assert_refused(run, str(lock), *words)
    assert "refused" in run.log[-1]["reason"] and run.log[-1]["message"] == "Backup failed"
    assert victim.read_text() == "precious\n"
    assert nothing_backed_up(d)
    lock.unlink()
    assert d.run().code == 0


def test_lock_directory_others_can_write_is_refused(deploy):
    d = deploy()
    lock_dir = d.root / "locks"
    lock_dir.mkdir()
    lock_dir.chmod(0o775)
    d.write_env(BACKUP_LOCK_FILE=str(lock_dir / "dream-backup.lock"))
    assert_refused(d.run(), "lock directory", str(lock_dir))
    os.chown(lock_dir, NOBODY, NOBODY)
    lock_dir.chmod(0o700)
    assert_refused(d.run(), "lock directory", f"uid {NOBODY}")
    lock_dir.rmdir()
    lock_dir.symlink_to(d.root)
    assert_refused(d.run(), "lock directory", "symbolic link")


# --- files the root job trusts ----------------------------------------------------------------------------

def test_env_file_others_could_write_is_refused(deploy):
    d = deploy()
    os.chown(d.env_file, NOBODY, NOBODY)
    assert_refused(d.run(), "env file", "not owned by root", f"uid {NOBODY}")
    os.chown(d.env_file, 0, 0)
    d.env_file.chmod(0o620)
    assert_refused(d.run(), "env file", "writable by group or others")
    d.env_file.chmod(0o600)
    d.root.chmod(0o777)
    assert_refused(d.run(), "env file", str(d.root), "others could replace")
    d.root.chmod(0o755)
    real = d.root / "real.env"
    d.env_file.rename(real)
    d.env_file.symlink_to(real)
    assert_refused(d.run(), "env file", "a symbolic link")
    d.env_file.unlink()
    real.rename(d.env_file)
    assert d.run("check").code == 0


def test_a_refused_env_file_is_never_acted_on(deploy, shared_dir):
    """The neighbour's env file (named by --env-file) is refused, and nothing it names is touched by the
    refusal itself: no log or metrics file at its paths, no ping to its healthcheck URL. The refusal goes
    to the log the flags and defaults name."""
    d = deploy()
    with FileServer({"/ping/x/fail": b"OK", "/ping/x": b"OK"}) as pings:
        theirs = shared_dir / "theirs.env"
        planted_log, planted_metrics = shared_dir / "planted.log", shared_dir / "planted.prom"
        theirs.write_text(d.env_file.read_text() + f'MINIO_BACKUP_LOG="{planted_log}"\n'
                          f'BACKUP_METRICS_FILE="{planted_metrics}"\nBACKUP_HEALTHCHECK_URL="{pings.base}/ping/x"\n')
        os.chown(theirs, NOBODY, NOBODY)
        run = d.run("--env-file", str(theirs), "--log-path", str(d.log_path))
        assert_refused(run, "env file", "not owned by root")
        assert not planted_log.exists() and not planted_metrics.exists()
        assert pings.requests == []
    assert run.log and run.log[-1]["message"] == "Backup failed" and "not owned by root" in run.log[-1]["reason"]


@pytest.mark.parametrize("engine", ["rclone", "mc"])
def test_engine_binary_others_could_write_is_refused(deploy, engine):
    d = deploy(engine)
    binary = d.rclone if engine == "rclone" else d.mc
    binary.chmod(0o775)
    run = d.run()
    assert_refused(run, f"{engine} binary", str(binary), "writable by group or others")
    assert "refused" in run.log[-1]["reason"]
    binary.chmod(0o755)
    os.chown(binary, NOBODY, NOBODY)
    check = d.run("check")
    assert check.code == 2 and "not owned by root" in check.stdout, check.stdout
    os.chown(binary, 0, 0)
    # A link is resolved: what counts is the file that would run.
    planted = d.root / "planted"
    planted.mkdir(mode=0o777)
    planted.chmod(0o777)
    (planted / engine).write_bytes(binary.read_bytes())
    (planted / engine).chmod(0o755)
    link = d.root / f"{engine}-link"
    link.symlink_to(planted / engine)
    d.write_env(**{"RCLONE_PATH" if engine == "rclone" else "MC_PATH": str(link)})
    assert_refused(d.run(), f"directory {planted}", "others could replace")
    d.write_env(**{"RCLONE_PATH" if engine == "rclone" else "MC_PATH": str(binary)})
    assert d.run().code == 0


@pytest.mark.parametrize("engine", ["rclone", "mc"])
def test_engine_link_in_a_directory_others_control_is_refused(deploy, shared_dir, engine):
    """The attack: a link the neighbour owns in its own directory points at the real engine while the
    job checks it, and at the neighbour's program when the job runs it. Any link on the way to the
    engine must lie in root's directories."""
    d = deploy(engine)
    binary = d.rclone if engine == "rclone" else d.mc
    theirs = shared_dir / "theirs"
    theirs.mkdir()
    link = theirs / engine
    link.symlink_to(binary)
    os.chown(theirs, NOBODY, NOBODY)
    os.lchown(link, NOBODY, NOBODY)
    d.write_env(**{"RCLONE_PATH" if engine == "rclone" else "MC_PATH": str(link)})
    assert_refused(d.run(), f"{engine} binary {link} refused", f"the link {link}", "others could replace")
    assert nothing_backed_up(d)


def test_the_engine_run_is_the_file_that_was_checked(deploy):
    """A link in root's directories is fine, and the job runs the file it resolved and checked, never
    the link again (the mc double names itself by argv[0], as mc does)."""
    d = deploy("mc")
    link = d.root / "mc-link"
    link.symlink_to(d.mc)
    d.write_env(MC_PATH=str(link))
    run = d.run("check", "--json")
    assert run.code == 0, run.stdout
    detail = next(c["detail"] for c in json.loads(run.stdout)["checks"] if c["check"] == "engine binary")
    assert detail.startswith("mc version RELEASE."), detail


@pytest.mark.parametrize("what", ["log", "html"])
def test_root_never_writes_into_a_file_another_account_planted(deploy, shared_dir, what):
    """/tmp-like directory: the neighbour pre-creates the file an operator names (the log of a manual
    run, the HTML page), to read what root writes or to forge a `Completed mirror` line in it."""
    shared_dir.chmod(0o1777)
    planted = shared_dir / f"planted.{what}"
    planted.write_text("the neighbour's\n")
    os.chown(planted, NOBODY, NOBODY)
    planted.chmod(0o666)
    d = deploy()
    book = f"book-{d.token}"
    if what == "log":
        run = d.run("--log-path", str(planted))
        assert_refused(run, "log file", str(planted), f"uid {NOBODY}", "root writes only into its own files")
        assert nothing_backed_up(d)
    else:
        seed_book(d, book)
        run = d.run("inspect-book", book, "--html", str(planted))
        assert run.code == 2 and "root writes only into its own files" in run.log[-1]["reason"]
    assert planted.read_text() == "the neighbour's\n"
    page = shared_dir / "new.html"
    if what == "html":
        assert d.run("inspect-book", book, "--html", str(page)).code == 0
        assert page.stat().st_mode & 0o777 == 0o600 and page.stat().st_uid == 0


@pytest.mark.parametrize("theirs", ["world-writable", "owned by another account"])
def test_a_metrics_directory_others_can_write_is_refused(deploy, shared_dir, theirs):
    """There another account could swap the names under the file root writes (a root 0600 file became
    0644 through a link swapped between the write and a chmod by name)."""
    directory = shared_dir / "textfile"
    directory.mkdir()
    if theirs == "world-writable":
        directory.chmod(0o1777)
    else:
        os.chown(directory, NOBODY, NOBODY)
    d = deploy(BACKUP_METRICS_FILE=str(directory / "dream.prom"))
    assert_refused(d.run(), f"metrics directory {directory}", "refused", "another account")
    assert not (directory / "dream.prom").exists() and nothing_backed_up(d)
    os.chown(directory, 0, 0)
    directory.chmod(0o755)
    assert d.run().code == 0
    assert (directory / "dream.prom").stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("what", ["log", "drill logbook", "metrics", "html"])
def test_no_write_through_a_symlink(deploy, tmp_path, what):
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    link = tmp_path / "link"
    link.symlink_to(victim)
    d = deploy()
    book = f"book-{d.token}"
    if what == "html":
        seed_book(d, book)
    if what == "log":
        run = d.run("--log-path", str(link))
        assert_refused(run, "log file", str(link), "a symbolic link")
    elif what == "drill logbook":
        d.write_env(RESTORE_DRILL_LOG=str(link))
        run = d.run("drill")
        assert_refused(run, "drill logbook", "a symbolic link")
        assert run.log[-1]["message"] == "Drill failed"
    elif what == "metrics":
        d.write_env(BACKUP_METRICS_FILE=str(link))
        run = d.run()
        assert_refused(run, "metrics file", "a symbolic link")
    else:
        run = d.run("inspect-book", book, "--html", str(link))
        assert run.code == 2 and "HTML output" in run.log[-1]["reason"] and "symbolic link" in run.log[-1]["reason"]
    assert victim.read_text() == "precious\n"


def test_fifo_as_log_is_refused_without_blocking(deploy, tmp_path):
    fifo = tmp_path / "log.fifo"
    os.mkfifo(fifo)
    run = deploy().run("--log-path", str(fifo))
    assert_refused(run, "log file", "a FIFO")


# --- hostile arguments ----------------------------------------------------------------------------------

FORGED_BUCKET = 'trash"} 1\ndream_backup_bucket_success{bucket="books'


def test_forged_bucket_names_are_refused_and_forge_nothing(deploy, tmp_path):
    metrics = tmp_path / "dream.prom"
    d = deploy(BACKUP_METRICS_FILE=str(metrics))
    d.put(d.buckets[0], "doc.txt", b"data")
    assert d.run().code == 0
    before = metrics.read_bytes()
    for argv in (["--bucket", FORGED_BUCKET], ["drill", "--bucket", FORGED_BUCKET],
                 ["ls", "backup", FORGED_BUCKET + "/x"], ["ls", "source", "UPPER"],
                 ["restore", "--bucket", FORGED_BUCKET, "--to-bucket", "fine-name"]):
        run = d.run(*argv)
        assert run.code == 2, (argv, run.stderr)
        assert "Traceback" not in run.stderr
        assert 'dream_backup_bucket_success{bucket="books' not in run.stderr.splitlines(), argv
        assert not any(line.startswith("dream_backup_") for line in run.stderr.splitlines()), argv
    # A refused backup is a visible run (its exit code and time are written), but it names no bucket:
    # the file holds exactly the series it held, none of them forged, and every bucket keeps its verdict.
    after = metrics.read_text(encoding="utf-8")
    assert series(after) == series(before.decode())
    assert FORGED_BUCKET not in after and "dream_backup_exit_code 2\n" in after
    assert bucket_verdicts(after) == bucket_verdicts(before.decode())


def series(text: str) -> set[str]:
    """The series of a metrics file (name and labels), without values."""
    return {line.rsplit(" ", 1)[0] for line in text.splitlines() if line and not line.startswith("#")}


def bucket_verdicts(text: str) -> list[str]:
    return sorted(line for line in text.splitlines() if line.startswith("dream_backup_bucket_success"))


# --- what held up: secrets stay out of other users' reach ------------------------------------------------

def engine_pid(marker: str, deadline: float) -> int:
    """The pid of the running engine process whose command line contains ``marker`` (a process state,
    polled until the deadline)."""
    while time.monotonic() < deadline:
        for proc in Path("/proc").iterdir():
            if proc.name.isdigit():
                with contextlib.suppress(OSError):
                    args = (proc / "cmdline").read_bytes().split(b"\0")
                    if marker.encode() in args[0:3] and b"mirror" in args:
                        return int(proc.name)
        time.sleep(0.1)
    raise AssertionError(f"no engine process for {marker}")


def test_neighbour_cannot_read_the_engines_credentials(deploy):
    d = deploy("mc")
    d.put(d.buckets[0], "doc.txt", b"data")
    d.mc_switches({"hang": True})
    argv = [sys.executable, str(PROGRAM), "--env-file", str(d.env_file)]
    program = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(d.root)})
    try:
        pid = engine_pid(str(d.mc), time.monotonic() + 120)
        environ = Path(f"/proc/{pid}/environ").read_bytes()
        assert any(secret.encode() in environ for secret in d.secrets), "the engine got its credentials"
        peek = as_nobody("cat", f"/proc/{pid}/environ")
        assert peek.returncode != 0 and not any(s in peek.stdout for s in d.secrets)
        cmdline = as_nobody("cat", f"/proc/{pid}/cmdline")
        assert cmdline.returncode == 0 and str(d.mc) in cmdline.stdout and "mirror" in cmdline.stdout
        ps = as_nobody("ps", "-ww", "-eo", "args", "--no-headers")
        assert ps.returncode == 0 and "mirror" in ps.stdout
        assert not any(secret in text for secret in d.secrets for text in (cmdline.stdout, ps.stdout))
        os.killpg(os.getpgid(pid), signal.SIGKILL)
        out, err = program.communicate(timeout=300)
    finally:
        if program.poll() is None:
            program.kill()
            program.communicate()
    assert program.returncode == 1
    assert not any(secret in out + err + d.log_path.read_text() for secret in d.secrets)
    d.mc_switches({})


# --- the HTML report runs only its own script --------------------------------------------------------------

def test_html_report_allows_only_its_own_script(deploy, tmp_path):
    chromium = "/usr/bin/chromium"
    d = deploy()
    book = f"book-{d.token}"
    seed_book(d, book, b'{"title": "<script>document.title = 1</script>"}')
    page = tmp_path / "book.html"
    run = d.run("inspect-book", book, "--html", str(page))
    assert run.code in (0, 1), run.stderr
    text = page.read_text()
    policy = re.search(r'Content-Security-Policy" content="([^"]*)"', text).group(1)
    script_src = re.search(r"script-src ([^;]*)", policy).group(1).split()
    assert script_src and all(s.startswith("'sha256-") for s in script_src), policy
    assert "'unsafe-inline'" not in re.sub(r"style-src[^;]*", "", policy)
    # A script that slipped into the page (here: added by hand) must not run; the page's own one must.
    injected = text.replace("</body>", "<script>document.body.setAttribute('data-injected', 'yes')</script></body>")
    hostile = tmp_path / "hostile.html"
    hostile.write_text(injected)
    dom = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                          "--disable-background-networking", "--disable-component-update", "--disable-sync",
                          f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", hostile.as_uri()],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    assert 'data-images-loaded="yes"' in dom
    assert 'data-injected="yes"' not in dom


# --- what held up: hostile object keys are data, never options or terminal control ---------------------------

HOSTILE_KEYS = ["-vv", "--config=/etc/passwd", "dir/--dry-run", "line\nbreak.txt", "esc\x1b[31mred.txt",
                "sep\u2028arator.txt"]


def shown(key: str, engine: str) -> str:
    """A key as the engine's listing names it: rclone shows control characters as their Unicode
    pictures (U+2400 + code), which it maps back when it reads or writes the object."""
    if engine != "rclone":
        return key
    return "".join(chr(0x2400 + ord(c)) if ord(c) < 0x20 else c for c in key)


@pytest.mark.parametrize("engine", ["rclone", "mc"])
def test_hostile_object_keys_go_through_every_command(deploy, engine):
    d = deploy(engine)
    books = d.buckets[0]
    bodies = {key: f"body of {key!r}".encode() for key in HOSTILE_KEYS}
    for key, body in bodies.items():
        d.put(books, key, body)
    backup = d.run()
    assert backup.code == 0, backup.stderr
    assert d.backup_keys(books) == set(HOSTILE_KEYS)
    for key, body in bodies.items():
        assert d.read(books, key, side="backup") == body

    drill = d.run("drill", "--bucket", books, "--samples", str(len(HOSTILE_KEYS)), "--json")
    assert drill.code == 0, drill.stderr
    listed = {shown(key, engine) for key in HOSTILE_KEYS}
    assert {o["key"] for o in json.loads(drill.stdout)["objects"]} == listed
    assert {o["verdict"] for o in json.loads(drill.stdout)["objects"]} == {"match"}

    listing = d.run("ls", "backup", books, "--json")
    assert listing.code == 0, listing.stderr
    assert {o["key"] for o in json.loads(listing.stdout)} == listed
    text = d.run("ls", "source", books)
    assert text.code == 0 and f"{len(HOSTILE_KEYS)} objects" in text.stdout
    assert len(text.stdout.splitlines()) == len(HOSTILE_KEYS) + 1, "one line per key, whatever the key holds"
    drill_text = d.run("drill", "--bucket", books, "--samples", str(len(HOSTILE_KEYS)))
    assert drill_text.code == 0
    for run in (text, drill_text):
        assert not any(c in run.stdout for c in "\x1b\u2028"), "a key's control character reached the terminal"

    restored = f"restored-{d.token}"
    restore = d.run("restore", "--bucket", books, "--to-bucket", restored, "--json")
    assert restore.code == 0, restore.stderr
    for key, body in bodies.items():
        assert d.read(restored, key) == body
    for run in (backup, drill, listing, restore):
        assert "\x1b" not in run.stderr, "a key's escape sequence reached the terminal"
    assert "/etc/passwd" not in d.recorded_argv().replace("--config=/etc/passwd", "")


def test_a_key_in_a_failure_reason_forges_no_log_line(deploy):
    d = deploy("mc")
    books = d.buckets[0]
    key = "skip\n2026-01-01T00:00:00.000Z INFO Backup completed\x1b[2J\u2028\u202e.txt"
    d.put(books, key, b"never copied")
    d.mc_switches({"silent_skip": ["skip*"]})
    run = d.run()
    assert run.code == 1
    assert key in run.last("Mirror failed")["reason"]
    lines = run.stderr.splitlines()
    assert not any(line.startswith("2026-01-01") for line in lines), run.stderr
    assert not any(c in run.stderr for c in "\x1b\u2028\u202e")
    assert any("skip\\x0a2026-01-01" in line and "Mirror failed" in line for line in lines), run.stderr
    # Every record stays one line even for readers that also split on U+2028 (str.splitlines).
    text = d.log_path.read_text(encoding="utf-8")
    records = [json.loads(line) for line in text.splitlines()]
    assert key in [r for r in records if r["message"] == "Mirror failed"][-1]["reason"]
    d.mc_switches({})


TERMINAL_CONTROL = "\x1b\x07\x9b\u202e\u2028"  # ESC, BEL, 8-bit CSI, a bidi override, a line separator


def reaches_the_terminal(text: str) -> set[str]:
    return {hex(ord(c)) for c in text if c in TERMINAL_CONTROL}


def test_lines_for_the_operator_escape_what_keys_and_config_values_hold(deploy):
    """restore --dry-run (the operator's review step), versions --prefix, inspect-book and the JSON that
    commands print: no key or config.json value sends a control sequence to the terminal, and every
    text line stays one line."""
    d = deploy("mc")
    books = d.buckets[0]
    keys = ["esc\x1b[2Jclear.txt", "bell\x07.txt", "csi\x9b31m.txt", "bidi\u202etxt.exe", "line\nbreak.txt"]
    for key in keys:
        d.put(books, key, b"x")
    assert d.run().code == 0
    for key in keys:
        d.src.remove_object(books, key)
    review = d.run("restore", "--bucket", books, "--dry-run")
    assert review.code == 0, review.stderr
    assert reaches_the_terminal(review.stdout) == set(), review.stdout
    assert len(review.stdout.splitlines()) == 2, review.stdout  # "Restoring … in place", "Dry run: …"
    assert "esc\\x1b[2Jclear.txt" in review.stdout and "csi\\x9b31m.txt" in review.stdout
    versions = d.run("versions", "--bucket", books, "--prefix", "bell\x07.txt")
    assert versions.code == 0 and reaches_the_terminal(versions.stdout) == set(), versions.stdout

    book = f"book-{d.token}"
    seed_book(d, book, config='{"title": "T\u009b2J\u202e", "author": "A\\u001b[31m"}'.encode())
    for args in ((), ("--json",)):
        inspected = d.run("inspect-book", book, *args)
        assert inspected.code == 0, inspected.stdout + inspected.stderr
        assert reaches_the_terminal(inspected.stdout) == set(), inspected.stdout
    document = json.loads(inspected.stdout)  # the escapes are JSON's own: the values read back whole
    assert document["config"]["title"] == "T\u009b2J\u202e" and document["config"]["author"] == "A\x1b[31m"
