"""The printed form shared by the benchmarks: a heading that names the machine and its load, and the
program / raw-baseline cells of a row with the goal it is held to."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime

TIMING_HEADER = f"{'program s':>10} {'raw s':>8} {'ratio':>6} {'goal':>7}"


def heading(title: str, detail: str = "") -> str:
    """``# title — date, host, cores, Python, load average`` (the load says how busy the machine was:
    a ratio is only as good as the two measurements sharing the same conditions)."""
    return (f"# {title} — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}{', ' + detail if detail else ''}, load average {load_average()}")


def timing_cells(program: float, raw: float, goal: float | None) -> str:
    """Both times, their ratio and a MISSED mark when the ratio is above ``goal`` (None: a ratio shown
    for reading, held to no goal)."""
    ratio = program / raw
    if goal is None:
        return f"{program:>10.2f} {raw:>8.2f} {ratio:>6.2f} {'-':>7}"
    return (f"{program:>10.2f} {raw:>8.2f} {ratio:>6.2f} {'<= ' + str(goal):>7}"
            f"{'' if ratio <= goal else '  MISSED'}")


def print_timings(title: str, detail: str, lead_header: str,
                  rows: list[tuple[str, float, float, float | None]]) -> None:
    """The heading, then one line per (leading cells, program s, raw s, goal) row."""
    print(heading(title, detail))
    print(f"{lead_header} {TIMING_HEADER}")
    for lead, program, raw, goal in rows:
        print(f"{lead} {timing_cells(program, raw, goal)}")


def load_average() -> str:
    return "/".join(f"{value:.1f}" for value in os.getloadavg())
