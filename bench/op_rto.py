"""RTO per operation of a saved run, and its read-your-writes figures (a stop-gap until the
journal gives both: issue 15).

    python bench/op_rto.py runs/<run-id> [runs/<run-id> ...]

For each fault window and each (service, op): the RTO the harness computes per service
(chaos.checks.rto.recovery: from the fault's injection to the first of N ok ops in a row after
the last failure; N = 5, the experiments' default), the ops and their failures in the window, and
its kind (write: the op has a write_id). Read-your-writes, over the whole run: reads that expected
some of their person's own acknowledged writes, how many answered, and how many of those missed
one (stale: ``saw`` lacks an id of ``expect``) or could not be inspected (``saw`` null); each stale
read is listed. The ``chaos`` package of this checkout is imported (not an installed one).
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chaos.checks.rto import recovery  # noqa: E402
from chaos.checks.windows import fault_windows  # noqa: E402
from chaos.history import load  # noqa: E402

CONSECUTIVE_OK = 5


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    for run in map(Path, argv):
        history = load(run)
        ops = sorted(history.ops, key=lambda o: o.mono)
        groups = defaultdict(list)
        for o in ops:
            groups[(o.service, o.op)].append(o)
        print(f"== {run.name}: {len(ops)} ops")
        for w in fault_windows(history):
            print(f"  fault {w.id} {w.type} {w.target}: window {w.length_s:.1f} s")
            for (service, op), group in sorted(groups.items()):
                out = recovery(group, w, CONSECUTIVE_OK)
                kind = "write" if any(o.is_write for o in group) else "read"
                rto = "never" if out.rto_s is None else f"{out.rto_s:.1f} s"
                print(f"    {service:10} {op:12} {kind:5}  RTO {rto:>7}   {out.requests - out.ok:4} failed of {out.requests:5}")
        expecting = [o for o in ops if o.expect]
        answered = [o for o in expecting if o.ok]
        stale = [o for o in answered if o.saw is not None and set(o.expect) - set(o.saw)]
        blind = [o for o in answered if o.saw is None]
        print(f"  read-your-writes: {len(expecting)} reads expected own writes "
              f"({sum(len(o.expect) for o in expecting)} ids), {len(answered)} answered, "
              f"{len(stale)} stale, {len(blind)} not inspectable")
        for o in stale:
            missing = sorted(set(o.expect) - set(o.saw))
            print(f"    STALE {o.service}:{o.op} who={o.who} at mono {o.mono:.3f}: missing {missing}")
        logins_401 = [o for o in expecting if o.op == "login" and o.status == 401]
        print(f"  logins refused (401) after the person's acknowledged signup: {len(logins_401)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
