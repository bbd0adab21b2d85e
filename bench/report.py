"""Summarise a benchmark run from its history: sustained req/s and latency per service, in the
steady state only (the first ``--warmup`` seconds of load, when every user signs up and logs in at
once, are left out; so is anything after the load stopped).

    python bench/report.py runs/bench/<run-id> [--warmup 20]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chaos import history  # noqa: E402
from chaos.checks.availability import latency_ms, ratio  # noqa: E402


def steady_figures(ops, start: float, stop: float) -> dict[str, dict]:
    """Per service, over the ops that started in [start, stop) (monotonic seconds): req/s, ok share,
    and p50/p95/p99 latency (ms) of the ok ones, computed as the checks compute them."""
    by_service: dict[str, list] = {}
    for op in ops:
        if start <= op.mono < stop:
            by_service.setdefault(op.service, []).append(op)
    return {name: {"req_s": len(s) / (stop - start), "ok_pct": 100 * ratio(s), **latency_ms(s)}
            for name, s in sorted(by_service.items())}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir")
    ap.add_argument("--warmup", type=float, default=20.0, help="seconds of load left out at the start")
    args = ap.parse_args(argv)
    h = history.load(Path(args.run_dir))
    started, stopped = h.mark("load_started"), h.mark("load_stopped")
    if started is None or stopped is None:
        print(f"{args.run_dir}: no load_started/load_stopped marks in the history", file=sys.stderr)
        return 2
    start, stop = started.mono + args.warmup, stopped.mono
    if stop - start < 10:
        print(f"{args.run_dir}: under 10 s of load after a {args.warmup:g} s warm-up", file=sys.stderr)
        return 2
    figures = steady_figures(h.ops, start, stop)
    print(f"{Path(args.run_dir).name}: steady state = {stop - start:.0f} s of load after {args.warmup:g} s warm-up")
    print(f"| service   | req/s | ok %   | p50 ms | p95 ms | p99 ms |")
    print(f"|-----------|------:|-------:|-------:|-------:|-------:|")
    for name, f in figures.items():
        cells = " | ".join(f"{f[k]:6.1f}" if f[k] is not None else "     -" for k in ("p50", "p95", "p99"))
        print(f"| {name:9} | {f['req_s']:5.1f} | {f['ok_pct']:6.2f} | {cells} |")
    print(f"| total     | {sum(f['req_s'] for f in figures.values()):5.1f} |        |        |        |        |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
