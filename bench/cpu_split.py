"""Where the CPU goes during a benchmark: each container of a stack, and the whole machine, in % of
one core over a window of the run (Docker's own CPU accounting and /proc/stat; no load of its own
beyond two snapshots).

    python bench/cpu_split.py --stack dual-site --after 45 --window 50 &   # then start the run

Prints one table when the window ends. Run by bench/run.sh next to each steady-load run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def machine_ticks(stat_line: str) -> tuple[int, int]:
    """(busy, idle) clock ticks from the ``cpu`` line of /proc/stat (iowait counts as idle)."""
    fields = [int(v) for v in stat_line.split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields[:8]) - idle, idle


def split(before: dict[str, int], after: dict[str, int], seconds: float) -> list[tuple[str, float]]:
    """``name -> CPU ns`` at two moments -> ``(name, % of one core)``, busiest first. A container
    missing from either snapshot (restarted or gone) is left out, not counted as zero."""
    rows = [(name, (after[name] - before[name]) / 1e9 / seconds * 100)
            for name in before.keys() & after.keys() if after[name] >= before[name]]
    return sorted(rows, key=lambda r: (-r[1], r[0]))


def _snapshot(found) -> tuple[dict[str, int], float]:
    """Every container's CPU counter, read in parallel (one API call each takes tens of ms), and
    the moment in the middle of the reads."""
    from concurrent.futures import ThreadPoolExecutor

    def usage(c):
        stats = c.stats(stream=False, one_shot=True)
        return (c.labels.get("com.docker.compose.service") or c.name,
                stats["cpu_stats"]["cpu_usage"]["total_usage"])

    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(found) or 1) as pool:
        result = dict(pool.map(usage, found))
    return result, (start + time.monotonic()) / 2


def main(argv: list[str]) -> int:
    from chaos.engine import containers, docker_client
    from chaos.stack import find_stack

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--stack", default="dual-site")
    p.add_argument("--after", type=float, default=45.0, help="seconds to wait before the window")
    p.add_argument("--window", type=float, default=50.0, help="length of the window, seconds")
    a = p.parse_args(argv)
    client = docker_client()
    stack = find_stack(a.stack)
    time.sleep(a.after)
    found = containers(client, stack)
    m0 = machine_ticks(Path("/proc/stat").read_text().splitlines()[0])
    before, t0 = _snapshot(found)
    time.sleep(a.window)
    after, t1 = _snapshot(found)
    m1 = machine_ticks(Path("/proc/stat").read_text().splitlines()[0])
    busy, idle = m1[0] - m0[0], m1[1] - m0[1]
    cores = (busy + idle) / 100 / (t1 - t0)  # USER_HZ is 100 on Linux
    machine = busy / (busy + idle) * cores * 100
    rows = split(before, after, t1 - t0)
    print(f"CPU over {t1 - t0:.0f} s, % of one core ({cores:.1f} cores):")
    print(f"  {'machine (busy)':24} {machine:6.1f}")
    print(f"  {'outside containers':24} {machine - sum(pct for _, pct in rows):6.1f}"
          "  (Locust, docker-proxy, dockerd, healthcheck processes, kernel)")
    for name, pct in rows:
        print(f"  {name:24} {pct:6.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
