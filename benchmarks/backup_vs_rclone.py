"""Backup program vs raw rclone, measured in the same run on two local SeaweedFS servers.

Data set: 3 buckets x 2,000 small objects, plus 8, 24 and 64 MiB objects in the second bucket.
  P1  no-change backup (verification on) / raw `rclone copy --checksum` of the same buckets, one after
      another                                                                    goal <= 1.5
      Raw copy and backup run alternately, five rounds; the fastest of each is kept. With
      --baseline-program, an earlier build's no-change backup runs in the same rounds (this build /
      that one: what a change costs, measured side by side rather than against an old table).
  P2  full first backup / raw rclone full copy at the same transfer count        goal <= 1.05
  P3  drill of a 1 GiB object: peak RSS of the program's own process (engines excluded, goal <= 50 MB)
      and time / raw `rclone cat` of both copies to /dev/null                     goal <= 1.25
      with the floor of that work measured by plain tools: both copies read at once, one of them
      through `openssl dgst -sha256`, nothing compared and no program started (floor / raw cat, and
      drill / floor). Raw cat, floor and drill run alternately, three rounds; the fastest of each is kept.

    .venv/bin/python -m benchmarks.backup_vs_rclone [--small 2000] [--giant-mib 1024]
        [--baseline-program OLD.pyz [--baseline-omit BACKUP_STATE_DIR,...]]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path

from benchmarks.table import print_timings
from tests.support.program import PROGRAM, Deployment
from tests.support.s3world import S3World

RCLONE = "/usr/bin/rclone"
OPENSSL = "/usr/bin/openssl"
P3_ROUNDS = 3
P1_ROUNDS = 5


def rclone_env(d: Deployment, conf: Path) -> dict[str, str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(d.root), "RCLONE_CONFIG": str(conf)}
    for name, server in (("SRC", d.primary), ("DST", d.offsite)):
        prefix = f"RCLONE_CONFIG_{name}_"
        env.update({prefix + "TYPE": "s3", prefix + "PROVIDER": "Minio", prefix + "ENV_AUTH": "false",
                    prefix + "ACCESS_KEY_ID": server.access_key, prefix + "SECRET_ACCESS_KEY": server.secret_key,
                    prefix + "REGION": "us-east-1", prefix + "ENDPOINT": server.endpoint,
                    prefix + "NO_CHECK_BUCKET": "true"})
    return env


def timed(argv: list[str], env: dict[str, str] | None = None) -> float:
    started = time.monotonic()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - started


def add_baseline_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--baseline-program", type=Path,
                        help="an earlier build of the program (e.g. git show REV:roles/minio_backup/files/"
                             "backup_minio.pyz > old.pyz; backup_minio.py before 2026-12-06) whose no-change "
                             "backup runs beside this one's")
    parser.add_argument("--baseline-omit", default="", type=lambda names: [n for n in names.split(",") if n],
                        help="env file names the baseline program does not know yet (it refuses unknown ones)")


def run_program(d: Deployment, program: Path | None, omit: list[str], *args: str, **kwargs):
    """One run of this build (``program`` None) or of a baseline build, whose env file leaves out the
    names in ``omit``; the deployment's own env file is written back afterwards."""
    if program is None:
        return d.run(*args, **kwargs)
    saved = dict(d.overrides)
    d.write_env(**dict.fromkeys(omit))
    d.program = program
    try:
        return d.run(*args, **kwargs)
    finally:
        d.program = PROGRAM
        d.overrides = saved
        d.write_env()


def read_both_hash_one(env: dict[str, str], hashed: str, other: str) -> float:
    """Seconds for the least work a drill of one object does on this machine, done by plain tools: both
    copies read at once, ``hashed`` through openssl's sha256 (the CPU's SHA instructions, as Python's
    hashlib uses), ``other`` into /dev/null; no comparison, no listing, no program start."""
    started = time.monotonic()
    reader = subprocess.Popen([RCLONE, "cat", hashed], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    digest = subprocess.Popen([OPENSSL, "dgst", "-sha256"], stdin=reader.stdout, stdout=subprocess.DEVNULL)
    reader.stdout.close()  # openssl holds the pipe's only reading end: rclone sees EPIPE if it exits
    try:
        subprocess.run([RCLONE, "cat", other], env=env, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    except BaseException:
        reader.kill()  # the other read failed: stop this one too before the error goes on
        raise
    finally:
        codes = (reader.wait(), digest.wait())
    if codes != (0, 0):
        raise RuntimeError(f"rclone cat | openssl dgst exited with {codes}")
    return time.monotonic() - started


def make_dataset(d: Deployment, env: dict[str, str], small: int, work: Path) -> None:
    """Local files uploaded with rclone (fast), so the data set costs seconds, not minutes."""
    for index, bucket in enumerate(d.buckets):
        local = work / bucket
        for i in range(small):
            path = local / f"dir{i % 20:02d}" / f"object-{i:05d}.bin"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(os.urandom(512 + (i * 37) % 3000))
        if index == 1:
            for mib in (8, 24, 64):
                (local / f"large-{mib}MiB.bin").write_bytes(os.urandom(mib * 1024 * 1024))
        subprocess.run([RCLONE, "copy", str(local), f"SRC:{bucket}", "--transfers", "16"], env=env, check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", type=int, default=2000, help="small objects per bucket")
    parser.add_argument("--giant-mib", type=int, default=1024, help="size of the drilled object")
    add_baseline_arguments(parser)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="dcs-bench-") as tmp, \
            S3World.start(Path(tmp) / "s3", names=["primary", "offsite"]) as world:
        work = Path(tmp)
        d = Deployment(world.by_name("primary"), world.by_name("offsite"), work / "vps", prefix="program")
        conf = work / "rclone.conf"
        conf.write_text("")
        env = rclone_env(d, conf)
        make_dataset(d, env, args.small, work / "data")

        def raw_copy() -> float:  # rclone's defaults, like the program's engine (4 transfers)
            return sum(timed([RCLONE, "copy", "--checksum", f"SRC:{b}", f"DST:{d.target_bucket}/raw/{b}"], env)
                       for b in d.buckets)

        raw_full = raw_copy()
        started = time.monotonic()
        assert d.run().code == 0
        program_full = time.monotonic() - started
        rows.append(("P2 full first backup / raw full copy", program_full, raw_full, 1.05))

        def no_change_backup(program: Path | None = None) -> float:
            started = time.monotonic()
            again = run_program(d, program, args.baseline_omit)
            seconds = time.monotonic() - started
            assert again.code == 0 and all(r["objects"] == 0 for r in again.log[-1]["results"].values())
            return seconds

        raw_agains, programs, baselines = [], [], []
        for _ in range(P1_ROUNDS):
            raw_agains.append(raw_copy())
            programs.append(no_change_backup())
            if args.baseline_program:
                baselines.append(no_change_backup(args.baseline_program))
        rows.append(("P1 no-change backup / raw copy --checksum", min(programs), min(raw_agains), 1.5))
        if baselines:
            rows.append(("P1 this program / the baseline program", min(programs), min(baselines), None))

        giant = work / "giant.bin"
        with open(giant, "wb") as handle:
            for _ in range(args.giant_mib):
                handle.write(os.urandom(1024 * 1024))
        bucket = f"giant-{d.token}"  # a bucket of its own, so the drill's one sample is the giant object
        d.src.make_bucket(bucket)
        subprocess.run([RCLONE, "copyto", str(giant), f"SRC:{bucket}/giant.bin"], env=env, check=True)
        giant.unlink()
        assert d.run("--bucket", bucket).code == 0
        copies = (f"DST:{d.target_bucket}/program/{bucket}/giant.bin", f"SRC:{bucket}/giant.bin")
        raw_cats, floors, drills, peak_kib = [], [], [], 0
        for _ in range(P3_ROUNDS):
            raw_cats.append(sum(timed([RCLONE, "cat", path], env) for path in copies))
            floors.append(read_both_hash_one(env, *copies))
            started = time.monotonic()
            drill = d.run("drill", "--bucket", bucket, "--samples", "1", "--max-size", str(2**40), "--seed", "giant",
                          measure_rss=True)
            drills.append(time.monotonic() - started)
            assert drill.code == 0, drill.stderr
            peak_kib = max(peak_kib, drill.peak_rss_kib)
        raw_cat, floor, program_drill = min(raw_cats), min(floors), min(drills)
        rows.append(("P3 drill of the giant object / raw cat of both copies", program_drill, raw_cat, 1.25))
        rows.append(("P3 floor: both at once, one hashed (plain tools) / raw", floor, raw_cat, 1.25))
        rows.append(("P3 drill / that floor", program_drill, floor, None))
        peak_mb = peak_kib / 1024

    print_timings("dream-backup vs rclone", "rclone (Debian)", f"{'measure':<56}",
                  [(f"{name:<56}", program, raw, goal) for name, program, raw, goal in rows])
    print(f"{'P3 peak RSS of the program process (MB, goal <= 50)':<56} {peak_mb:>10.1f}"
          f"{'' if peak_mb <= 50 else '  MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
