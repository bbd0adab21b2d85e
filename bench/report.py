"""Summarise a benchmark run's journal: sustained req/s and latency percentiles per service.

    python bench/report.py runs/<run-id>
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path


def main(run_dir: str) -> None:
    journal = json.loads((Path(run_dir) / "journal.json").read_text())
    start = datetime.fromisoformat(journal["started_at"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(journal["finished_at"].replace("Z", "+00:00"))
    load_s = journal["experiment"]["load"]["duration_s"]
    print(f"run {journal['run_id']}  ({(end - start).total_seconds():.0f} s wall, {load_s:g} s of load)")
    print(f"{'service':10} {'req/s':>8} {'ok %':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    total = 0
    for name, s in sorted(journal["services"].items()):
        rate = s["requests"] / load_s
        total += rate
        lat = s["latency_ms"]
        print(f"{name:10} {rate:8.1f} {100 * (s['availability'] or 0):7.2f} "
              f"{lat.get('p50') or 0:8.1f} {lat.get('p95') or 0:8.1f} {lat.get('p99') or 0:8.1f}")
    print(f"{'total':10} {total:8.1f}")


if __name__ == "__main__":
    main(sys.argv[1])
