"""How long the unit suite takes (``make unit``: pytest-xdist on every core, the loader fuzz at a
quarter), wall and CPU, run after run; with several checkouts, their runs alternate (A B A B ...)
so each meets the same machine: on a shared machine the load of the minute moves the wall time
more than most changes do. The median of each checkout comes last. No timed assertion anywhere:
the goal (under a minute on 2 cores) is read here and written in docs/benchmarks.md.

    .venv/bin/python bench/unit_suite.py [--runs 3] [--dist load] [CHECKOUT ...]   (default: this one)

Each run is ``python -m pytest -q -n auto -m 'not integration' tests`` in the checkout (``-m
pytest``, not the venv's ``pytest`` script, so the checkout's own ``chaos`` is the one imported);
CPU is user + system time of the run and every process it started; ``load`` is the machine's
1-minute load average when the run began.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one_run(checkout: Path, dist: str) -> tuple[float, float, float, str]:
    """(wall s, CPU s, load average at the start, pytest's last line) of one run in ``checkout``."""
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", "auto", "--dist", dist,
                        "-m", "not integration", "tests"], cwd=checkout, capture_output=True, text=True)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    lines = p.stdout.strip().splitlines() or ["(no output)"]
    if p.returncode != 0:  # which tests: a run on a loaded machine can fail a test with a deadline
        failed = [line for line in lines if line.startswith(("FAILED", "ERROR"))]
        return wall, cpu, load, f"exit {p.returncode}: {lines[-1]}: {'; '.join(failed)}"
    return wall, cpu, load, lines[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkouts", nargs="*", type=Path, default=[ROOT],
                        help="folders holding the project (default: this one)")
    parser.add_argument("--runs", type=int, default=3, help="runs per checkout (default: 3)")
    parser.add_argument("--dist", default="load", help="pytest-xdist's --dist (default: load, as make unit)")
    args = parser.parse_args()
    results: dict[Path, list[tuple[float, float, float, str]]] = {c: [] for c in args.checkouts}
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, --dist {args.dist}")
    for i in range(args.runs):
        for checkout in args.checkouts:
            wall, cpu, load, last = one_run(checkout, args.dist)
            results[checkout].append((wall, cpu, load, last))
            print(f"run {i + 1} {checkout}: wall {wall:.1f} s, CPU {cpu:.1f} s, load {load:.2f}: {last}",
                  flush=True)
    for checkout, runs in results.items():
        print(f"median {checkout}: wall {statistics.median(r[0] for r in runs):.1f} s, "
              f"CPU {statistics.median(r[1] for r in runs):.1f} s ({len(runs)} runs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
