"""One bucket at 50k, 100k and 200k objects: the program's own peak memory and a no-change backup's
time against raw `rclone copy --checksum`, measured in the same run on two local SeaweedFS servers.

Objects are a few hundred bytes (listing-bound, the worst case for per-object overhead). The bucket
grows between sizes (objects are added to both sides, the servers are reused). At each size: a backup
that finds nothing to copy, then the no-change backup and the raw `rclone copy --checksum` of the same bucket into the
same backup path (nothing to copy either) run alternately, twice each; the faster of each is kept.
Memory: VmHWM of the program's python process alone (the engines are children, not counted).

    .venv/bin/python -m benchmarks.bench_scale [--sizes 50000,100000,200000]
        [--baseline-program OLD.pyz [--baseline-omit NAME,...]]  (an earlier build in the same rounds)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from benchmarks.backup_vs_rclone import RCLONE, add_baseline_arguments, rclone_env, run_program, timed
from benchmarks.table import load_average, print_timings
from tests.support.program import Deployment
from tests.support.s3world import S3World

GOAL_SLOPE = 200  # bytes of program memory per object
GOAL_RATIO = 1.3  # no-change backup / raw rclone copy --checksum
ROUNDS = 2


# The local tree is uploaded as it is, into an empty prefix: --no-check-dest and --no-traverse skip
# rclone's listing of the destination and its per-object checks, --s3-no-head the HEAD after each PUT;
# 64 transfers keep the server busy with small objects. Measured on an idle 2-core machine: 1,340
# objects/s into one server (840 with rclone's checks and 32 transfers), 1,490 for both together.
SEED_FLAGS = ["--transfers", "64", "--checkers", "16", "--no-check-dest", "--no-traverse", "--s3-no-head"]
SEED_BATCH = 50_000  # objects written locally per upload round (bounds the temporary tree)


def add_objects(env: dict[str, str], bucket: str | None, backup_path: str, start: int, stop: int, work: Path) -> None:
    """Objects start..stop-1, written locally and uploaded by rclone to production and to the backup at
    once (identical bytes, so the program's next backup has nothing to copy: seeding the backup through
    the program would double the slowest part of the benchmark); ``bucket`` None: to the backup alone."""
    local = work / "seed"
    for first in range(start, stop, SEED_BATCH):
        for i in range(first, min(first + SEED_BATCH, stop)):
            path = local / f"dir{i % 100:02d}" / f"object-{i:07d}.bin"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(os.urandom(200 + i % 400))
        uploads = [subprocess.Popen([RCLONE, "copy", str(local), remote, *SEED_FLAGS], env=env)
                   for remote in ([f"SRC:{bucket}"] if bucket else []) + [f"DST:{backup_path}"]]
        assert all(upload.wait() == 0 for upload in uploads)
        shutil.rmtree(local)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="50000,100000,200000", help="bucket sizes, ascending")
    add_baseline_arguments(parser)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows, baselines = [], []
    with tempfile.TemporaryDirectory(prefix="dcs-bench-scale-") as tmp, \
            S3World.start(Path(tmp) / "s3", names=["primary", "offsite"]) as world:
        work = Path(tmp)
        d = Deployment(world.by_name("primary"), world.by_name("offsite"), work / "vps", prefix="program")
        bucket = d.buckets[0]
        d.write_env(MINIO_BACKUP_BUCKETS=bucket)
        conf = work / "rclone.conf"
        conf.write_text("")
        env = rclone_env(d, conf)
        have = 0
        for size in sizes:
            started = time.monotonic()
            add_objects(env, bucket, f"{d.target_bucket}/program/{bucket}", have, size, work)
            have = size
            seeded = time.monotonic() - started
            first = d.run(timeout=3600)
            assert first.code == 0, first.stderr
            raw_times, program_times, baseline_times, peaks = [], [], [], []
            for _ in range(ROUNDS):
                raw_times.append(timed([RCLONE, "copy", "--checksum", f"SRC:{bucket}",
                                        f"DST:{d.target_bucket}/program/{bucket}"], env))
                started = time.monotonic()
                again = d.run(measure_rss=True, timeout=3600)
                program_times.append(time.monotonic() - started)
                assert again.code == 0, again.stderr
                result = again.last("Backup completed")["results"][bucket]
                assert result["objects"] == 0 and result["verified"] == size, result
                peaks.append(again.peak_rss_kib * 1024)
                if args.baseline_program:
                    started = time.monotonic()
                    assert run_program(d, args.baseline_program, args.baseline_omit, timeout=3600).code == 0
                    baseline_times.append(time.monotonic() - started)
            rows.append((size, max(peaks), min(program_times), min(raw_times), seeded))
            baselines.append((size, min(program_times), min(baseline_times or [float("nan")])))
            print(f"{size} objects: program {min(program_times):.2f} s, raw {min(raw_times):.2f} s, "
                  f"peak {max(peaks) / 2**20:.1f} MiB (seeded in {seeded:.0f} s; "
                  f"load average {load_average()})", flush=True)
    (small, small_rss, *_), (large, large_rss, *_) = rows[0], rows[-1]
    slope = (large_rss - small_rss) / (large - small) if large > small else 0.0
    at_million = large_rss + slope * (1_000_000 - large)
    print()
    print_timings("dream-backup at scale", "rclone (Debian)", f"{'objects':>8} {'peak RSS MiB':>13}",
                  [(f"{size:>8} {rss / 2**20:>13.1f}", program, raw, GOAL_RATIO)
                   for size, rss, program, raw, _ in rows])
    print(f"RSS slope {slope:.0f} bytes/object (goal <= {GOAL_SLOPE}){'' if slope <= GOAL_SLOPE else '  MISSED'}; "
          f"extrapolated to 1,000,000 objects: {at_million / 2**20:.1f} MiB")
    if args.baseline_program:
        print()
        print(f"{'objects':>8} {'this build s':>13} {'baseline s':>11} {'ratio':>6}  ({args.baseline_program})")
        for size, program, baseline in baselines:
            print(f"{size:>8} {program:>13.2f} {baseline:>11.2f} {program / baseline:>6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
