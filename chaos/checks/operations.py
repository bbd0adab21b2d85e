"""The stack's declaration of its operations (``operations:`` in its stack.yaml) against what the
workload recorded: a check present whenever the stack declares operations.

Per-kind figures count a request by what it is (a request with a ``write_id`` is a write), so a
declared read that carries a ``write_id`` (or a declared write without one), or an operation the
stack does not declare, means the declaration does not describe the workload, and the figures a
threshold on an operation or a kind judges may not be the ones it means. Such a run is never a pass:
the check is ``unknown`` and names each contradiction with its count.
"""

from __future__ import annotations

from collections import Counter
from typing import Mapping, Sequence

from chaos.checks.figures import kind_of
from chaos.checks.verdict import CheckResult, Verdict
from chaos.history import Op
from chaos.run_folder import READ, WRITE

NAME = "operations_as_declared"
MAX_SHOWN = 10

# service -> {op: read | write}, as stack.yaml declares them
Declared = Mapping[str, Mapping[str, str]]


def operations_as_declared(ops: Sequence[Op], declared: Declared) -> CheckResult:
    """``pass`` if every op of the history is an operation the stack declares for its service, of
    the kind declared; ``unknown`` naming each (service, op) that is not, with how many requests."""
    recorded = Counter((o.service, o.op, kind_of(o)) for o in ops)
    problems = []
    for (service, op, kind), n in sorted(recorded.items()):
        want = declared.get(service, {}).get(op)
        if want is None:
            problems.append(f"{service} {op}: {n} {kind} requests of an operation the stack does not declare")
        elif want != kind:
            carries = "carry a write_id" if kind == WRITE else "carry no write_id"
            problems.append(f"{service} {op}: declared a {want}, but {n} of its requests {carries}")
    pairs = {(s, o) for s, o, _ in recorded}
    threshold = "every recorded op declared, of its declared kind"
    if not problems:
        return CheckResult(NAME, Verdict.PASS, figure=0, threshold=threshold,
                           detail=f"{len(pairs)} operations recorded, each as declared")
    shown = "; ".join(problems[:MAX_SHOWN]) + (f"; ... and {len(problems) - MAX_SHOWN} more"
                                              if len(problems) > MAX_SHOWN else "")
    return CheckResult(NAME, Verdict.UNKNOWN, figure=len(problems), threshold=threshold, detail=shown,
                       reason=f"the workload's records contradict the stack's operations (stack.yaml "
                              f"operations:), so per-operation and per-kind figures may not mean what "
                              f"they say: {shown}")
