"""Per-operation figures of several runs of one experiment, from their journals: the issue-15 goals
(login and every read RTO <= 3 s, every write RTO <= 25 s, p95 over the runs; 0 acknowledged writes
lost, 0 stale reads, money conserved).

    python bench/local_reads.py runs/<run-id> [runs/<run-id> ...]

Every figure is the journal's own (the harness's RTO rule per operation: from the fault's injection
to the first of N of that operation's own successes in a row); nothing is measured here.
"""

from __future__ import annotations

import json
import math
import sys
from collections import defaultdict
from pathlib import Path


def p95(values: list[float]) -> float:
    """The nearest-rank 95th percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def main(folders: list[str]) -> int:
    if not folders:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    rto: dict[tuple[str, str, str], list[float | None]] = defaultdict(list)
    lost = stale = 0
    money, verdicts = [], []
    for folder in folders:
        journal = json.loads((Path(folder) / "journal.json").read_text())
        verdicts.append(journal["verdict"])
        for service, figures in journal["services"].items():
            lost += figures.get("lost_writes") or 0
            stale += figures.get("stale_reads") or 0
            for op, part in (figures.get("operations") or {}).items():
                if "rto_s" not in (part.get("missing") or {}):  # an op with no request in the window: no figure
                    rto[(service, op, part["kind"])].append(part["rto_s"])
        money += [c["verdict"] for c in journal["checks"] if c["name"] == "money_conserved"]
    print(f"{len(folders)} runs: verdicts {', '.join(sorted(set(verdicts)))}; acknowledged writes lost {lost}; "
          f"stale reads {stale}; money conserved in {money.count('pass')} of {len(money)}")
    print(f"{'service':10} {'operation':12} {'kind':5} {'runs':>4} {'min':>6} {'median':>7} {'p95':>6} {'max':>6}")
    for (service, op, kind), values in sorted(rto.items(), key=lambda kv: (kv[0][2], kv[0][0], kv[0][1])):
        never = sum(v is None for v in values)
        got = sorted(v for v in values if v is not None)
        if not got:
            print(f"{service:10} {op:12} {kind:5} {len(values):>4} {'never in ' + str(never) + ' runs':>28}")
            continue
        worst = "never" if never else f"{p95(got):6.1f}"
        print(f"{service:10} {op:12} {kind:5} {len(values):>4} {got[0]:6.1f} {got[len(got) // 2]:7.1f} {worst:>6} "
              f"{('never' if never else f'{got[-1]:6.1f}'):>6}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
