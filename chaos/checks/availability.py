"""Availability (ok / requests) per service, over the run and per phase, and latency percentiles
(over the run and per phase)."""

from __future__ import annotations

import math
from typing import Sequence

from chaos.checks.windows import FaultWindow
from chaos.history import Op

PHASES = ("steady", "fault", "after_heal")
PERCENTILES = (50, 95, 99)


def ratio(ops: Sequence[Op]) -> float | None:
    """Share of ok ops; None without ops."""
    if not ops:
        return None
    return sum(o.ok for o in ops) / len(ops)


def _phase_ops(ops: Sequence[Op], windows: Sequence[FaultWindow],
               stopped: float | None) -> dict[str, list[Op]]:
    """Ops of each phase: steady before the first fault (the whole run without faults, up to
    ``load_stopped``), fault inside any fault window, after_heal from the last heal to
    ``load_stopped`` (empty if some fault was never healed)."""
    until = stopped if stopped is not None else math.inf
    if windows:
        first = windows[0].injected
        steady = [o for o in ops if o.mono < first]
    else:
        steady = [o for o in ops if o.mono < until]
    fault = [o for o in ops if any(w.contains(o.mono) for w in windows)]
    heals = [w.healed for w in windows]
    if windows and all(h is not None for h in heals):
        last_heal = max(heals)
        after = [o for o in ops if last_heal <= o.mono < until]
    else:
        after = []
    return {"steady": steady, "fault": fault, "after_heal": after}


def by_phase(ops: Sequence[Op], windows: Sequence[FaultWindow],
             stopped: float | None) -> dict[str, dict]:
    """``{phase: {"requests": n, "availability": ratio or None}}`` for each of ``PHASES``."""
    phases = _phase_ops(ops, windows, stopped)
    return {name: {"requests": len(phases[name]), "availability": ratio(phases[name])}
            for name in PHASES}


def percentile(sorted_values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile of already sorted values; None if there are none."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def latency_ms(ops: Sequence[Op]) -> dict[str, float | None]:
    """``{"p50", "p95", "p99"}`` of the ok ops' latencies, in milliseconds."""
    values = sorted(o.latency * 1000.0 for o in ops if o.ok)
    return {f"p{p}": (None if (v := percentile(values, p)) is None else round(v, 3))
            for p in PERCENTILES}


def latency_by_phase(ops: Sequence[Op], windows: Sequence[FaultWindow],
                     stopped: float | None) -> dict[str, dict[str, float | None]]:
    """``{phase: {"p50", "p95", "p99"}}`` of the ok ops' latencies in milliseconds, for each of
    ``PHASES`` (the phases of ``by_phase``)."""
    phases = _phase_ops(ops, windows, stopped)
    return {name: latency_ms(phases[name]) for name in PHASES}
