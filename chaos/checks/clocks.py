"""The load workers' clocks as the history states them, and what they allow a time to say.

With a Locust master and workers (``chaos.load.distributed``), each worker's records are placed on
the harness's clock within a bound (seconds) its ``worker_clock`` marks carry: a time measured from
those records, an RTO above all, is not known finer than the largest bound. So:

* ``worker_clocks`` lists each worker's offset and bound (the journal shows them);
* ``rto_step`` is the finest step a time may be shown to: the reports' 0.1 s, or, when the bound is
  coarser, the bound rounded up to a tenth (the reports then say ``3.0 ± 0.4``);
* ``undecided`` tells a threshold on a time whose verdict the bound could turn (the figure within
  the bound of the limit): the judge makes it ``unknown`` rather than a pass or a fail the clocks
  cannot back.

A run of one Locust process has no such marks: its bound is 0, and nothing changes.
"""

from __future__ import annotations

import math

from chaos.history import History
from chaos.run_folder import MARK_WORKER_CLOCK

DISPLAY_STEP_S = 0.1  # how finely the reports show a time (chaos.reports.story.seconds_text)


def worker_clocks(history: History) -> dict[str, dict]:
    """worker -> {"offset_s", "bound_s"}: its clock's offset from the harness's (last estimate) and the
    largest bound any of its marks states, in the order the workers first appear."""
    clocks: dict[str, dict] = {}
    for m in sorted(history.marks, key=lambda m: m.mono):
        if m.name != MARK_WORKER_CLOCK or m.worker is None:
            continue
        c = clocks.setdefault(m.worker, {"offset_s": None, "bound_s": None})
        if m.offset is not None:
            c["offset_s"] = m.offset
        if m.bound is not None:
            c["bound_s"] = m.bound if c["bound_s"] is None else max(c["bound_s"], m.bound)
    return clocks


def clock_bound(history: History) -> float:
    """The largest bound of any worker's clock (0 without workers). A ``worker_clock`` mark without
    a bound has none that can be trusted: infinite."""
    bounds = [c["bound_s"] for c in worker_clocks(history).values()]
    return max((math.inf if b is None else b for b in bounds), default=0.0)


def rto_step(bound: float | None) -> float:
    """The finest step a time measured under ``bound`` may be shown to: ``DISPLAY_STEP_S``, or the
    bound rounded up to a tenth of a second when it is coarser."""
    if bound is None or bound <= DISPLAY_STEP_S:
        return DISPLAY_STEP_S
    if not math.isfinite(bound):
        return math.inf
    return math.ceil(round(bound / DISPLAY_STEP_S, 9)) * DISPLAY_STEP_S


def undecided(holds, figure: float, bound: float) -> bool:
    """Whether the threshold ``holds`` (figure -> bool) gives different verdicts somewhere within
    ``figure`` +- ``bound`` (a time is never below 0): the clocks cannot tell which side of the limit
    the truth is. A figure of 0 is exact (no request failed)."""
    if not bound or figure is None or figure == 0:  # 0: no request failed, whatever the clocks say
        return False
    if not math.isfinite(bound):
        return True
    return len({holds(max(0.0, figure - bound)), holds(figure), holds(figure + bound)}) > 1
