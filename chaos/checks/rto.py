"""Recovery time per service and fault: from the fault's injection to the outage's lasting end.

An op belongs to the fault window in which it *ended* (``mono + latency``): a request in flight when
a fault strikes fails because of that fault, so in a chain (slowness, then a power cut) the requests
cut by the power cut count against the power cut, not against the slowness. Inside a fault's window
``[injected, end)``, with the service's ops ordered by start: if none failed (outcome fail or
unknown), the RTO is 0. Otherwise the service recovered at the first op of
the run of ok ops that follows the last non-ok op, provided that run is at least N ops long
(``Experiment.rto_consecutive_ok``); shorter runs, and runs broken by a later failure (flapping),
do not count. No such run: never recovered within the window (None). No op of the service inside
the window: nothing was measured there (``Outage.measured`` is false, ``rto_s`` None), which is
neither 0 s nor "never": an RTO over such a window is unknown.

The same definition serves a whole service and a part of it (one operation, or its reads or its
writes): ``ops`` are then that part's ops, and its N successes in a row are N of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from chaos.checks.windows import FaultWindow
from chaos.history import Op


@dataclass(frozen=True)
class Outage:
    """What one service went through during one fault's window."""

    fault_id: str
    fault_type: str
    window_s: float
    requests: int  # ops of the service inside the window
    ok: int  # of which ok
    rto_s: float | None  # None: never recovered within the window (or nothing measured: see ``measured``)

    @property
    def measured(self) -> bool:
        """Whether any op of the service ended inside the window (else its RTO there is unknown)."""
        return self.requests > 0

    @property
    def never_recovered(self) -> bool:
        return self.measured and self.rto_s is None


def recovery(ops: Sequence[Op], window: FaultWindow, consecutive_ok: int) -> Outage:
    """The service's outage for one fault; ``ops`` are that service's ops, ordered by ``mono``."""
    inside = [o for o in ops if window.contains(o.mono + o.latency)]
    last_bad = max((i for i, o in enumerate(inside) if not o.ok), default=None)
    if not inside:
        rto: float | None = None  # nothing measured in this window
    elif last_bad is None:
        rto = 0.0
    elif len(inside) - (last_bad + 1) >= consecutive_ok:
        rto = round(max(0.0, inside[last_bad + 1].mono - window.injected), 6)
    else:
        rto = None
    return Outage(fault_id=window.id, fault_type=window.type, window_s=window.length_s,
                  requests=len(inside), ok=sum(o.ok for o in inside), rto_s=rto)


def outages(ops: Sequence[Op], windows: Sequence[FaultWindow], consecutive_ok: int) -> list[Outage]:
    """One outage per fault window."""
    return [recovery(ops, w, consecutive_ok) for w in windows]


def service_rto(service_outages: Sequence[Outage]) -> float | None:
    """The worst RTO over the faults: 0 without faults, None if any fault was never recovered from
    or had no op inside its window (``unmeasured`` tells the two apart)."""
    figures = [o.rto_s for o in service_outages]
    if any(f is None for f in figures):
        return None
    return max(figures, default=0.0)


def unmeasured(service_outages: Sequence[Outage]) -> str:
    """Why the worst RTO is unknown: the windows without any op, when no fault was measured as never
    recovered from (a measured "never" decides, whatever else is unknown); "" if it is known."""
    if any(o.never_recovered for o in service_outages):
        return ""
    empty = [o for o in service_outages if not o.measured]
    if not empty:
        return ""
    return "no requests inside the outage window of " + ", ".join(
        f"{o.fault_id} ({o.fault_type}, {o.window_s:.1f} s)" for o in empty)
