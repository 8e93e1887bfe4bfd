"""A whole-bucket restore at 20k and 100k objects: the program's own peak memory and its time against a
raw `rclone copy` of the same objects between the same servers, measured in the same run.

The objects (a few hundred bytes: listing- and request-bound, the worst case for per-object overhead)
are seeded into the backup path of one bucket; the bucket grows between sizes. At each size the
program restores the whole bucket into a new bucket (`restore --to-bucket`, listings, plan, copy and
the verification listing) and raw rclone copies the same backup path into another new bucket,
alternately, ROUNDS times each; the fastest of each is kept. Memory: VmHWM of the program's python
process alone (the engine is its child, not counted). The slope between the smallest and the largest
size is the memory each further object costs.

    .venv/bin/python -m benchmarks.bench_restore [--sizes 20000,100000] [--engine rclone]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from benchmarks.backup_vs_rclone import RCLONE, rclone_env, timed
from benchmarks.bench_scale import add_objects
from benchmarks.table import load_average, print_timings
from tests.support.program import Deployment
from tests.support.s3world import S3World

GOAL_SLOPE = 200  # bytes of program memory per object
GOAL_RATIO = 1.2  # whole-bucket restore / raw rclone copy
ROUNDS = 2


def restore_once(d: Deployment, bucket: str, into: str, size: int) -> tuple[float, int]:
    """Seconds and peak RSS (bytes) of one whole-bucket restore into the new bucket ``into``."""
    started = time.monotonic()
    run = d.run("restore", "--bucket", bucket, "--to-bucket", into, "--json", measure_rss=True, timeout=7200)
    seconds = time.monotonic() - started
    assert run.code == 0, run.stderr
    done = run.last("Completed restore")["results"]
    assert done["restored"] == size and done["failed"] == 0, done
    return seconds, run.peak_rss_kib * 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="20000,100000", help="bucket sizes, ascending")
    parser.add_argument("--engine", default="rclone", choices=["rclone", "mc"])
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="dcs-bench-restore-") as tmp, \
            S3World.start(Path(tmp) / "s3", names=["primary", "offsite"]) as world:
        work = Path(tmp)
        d = Deployment(world.by_name("primary"), world.by_name("offsite"), work / "vps", prefix="program",
                       engine=args.engine)
        bucket = d.buckets[0]
        d.write_env(MINIO_BACKUP_BUCKETS=bucket)
        conf = work / "rclone.conf"
        conf.write_text("")
        env = rclone_env(d, conf)
        backup_path = f"{d.target_bucket}/program/{bucket}"
        have = 0
        for size in sizes:
            started = time.monotonic()
            add_objects(env, None, backup_path, have, size, work)
            have = size
            seeded = time.monotonic() - started
            raw_times, program_times, peaks = [], [], []
            for round_ in range(ROUNDS):
                raw_times.append(timed([RCLONE, "copy", f"DST:{backup_path}", f"SRC:raw-{size}-{round_}"], env))
                seconds, peak = restore_once(d, bucket, f"restored-{size}-{round_}", size)
                program_times.append(seconds)
                peaks.append(peak)
            rows.append((size, max(peaks), min(program_times), min(raw_times)))
            print(f"{size} objects: restore {min(program_times):.2f} s, raw rclone copy {min(raw_times):.2f} s, "
                  f"peak {max(peaks) / 2**20:.1f} MiB (seeded in {seeded:.0f} s; load average {load_average()})",
                  flush=True)
    (small, small_rss, *_), (large, large_rss, *_) = rows[0], rows[-1]
    slope = (large_rss - small_rss) / (large - small) if large > small else 0.0
    print()
    print_timings(f"whole-bucket restore ({args.engine} engine)", "raw: rclone copy (Debian)",
                  f"{'objects':>8} {'peak RSS MiB':>13}",
                  [(f"{size:>8} {rss / 2**20:>13.1f}", program, raw, GOAL_RATIO) for size, rss, program, raw in rows])
    print(f"RSS slope {slope:.0f} bytes/object (goal <= {GOAL_SLOPE}){'' if slope <= GOAL_SLOPE else '  MISSED'}; "
          f"extrapolated to 1,000,000 objects: {(large_rss + slope * (1_000_000 - large)) / 2**20:.1f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
