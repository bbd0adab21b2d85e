"""Every figure of one service, measured from the history and the read-back.

``measure`` makes the measurements (counts, latency, phases, outages, writes), then computes every
metric of the registry (``chaos.checks.metrics``) from them.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence, TypeVar

from chaos.checks import availability, rto
from chaos.checks.data_loss import data_loss
from chaos.checks.metrics import ADDED, KEY, METRICS, READBACK, RECOVERY, TRAFFIC, WRITES
from chaos.checks.windows import FaultWindow
from chaos.history import FAIL, OK, UNKNOWN, Op

T = TypeVar("T")


@dataclass(frozen=True)
class ServiceFigures:
    """One service's measurements and its metrics' figures (``values``, by metric name).
    ``missing`` says, per metric, why its figure could not be measured. ``ops`` and ``windows``
    are what it was measured from (for a metric that needs the raw history)."""

    service: str
    requests: int | None = None
    ok: int | None = None
    failed: int | None = None
    unknown: int | None = None
    availability: float | None = None
    rto_s: float | None = None
    acked_writes: int | None = None
    lost_writes: int | None = None
    unknown_writes: int | None = None
    recovered_writes: int | None = None
    duplicate_writes: int | None = None
    lost_ids: tuple[str, ...] | None = None
    latency_ms: Mapping[str, float | None] = field(default_factory=dict)
    availability_by_phase: Mapping[str, Mapping] = field(default_factory=dict)
    outages: tuple[rto.Outage, ...] = ()
    missing: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, float | None] = field(default_factory=dict)
    ops: tuple[Op, ...] = field(default=(), repr=False, compare=False)
    windows: tuple[FaultWindow, ...] = field(default=(), repr=False, compare=False)

    def figure(self, metric: str) -> float | None:
        """The figure a threshold on ``metric`` (one of ``METRICS``) compares."""
        if metric not in METRICS:
            raise KeyError(f"unknown metric {metric!r}")
        return self.values.get(metric)

    def to_dict(self) -> dict:
        """The journal's form of a service: the journal/1 keys (its metrics, then the details),
        then the metrics added since."""
        def figures(where: str) -> dict:
            return {m.name: self.values.get(m.name) for m in METRICS.values() if m.journal == where}

        return {**figures(KEY),
                "lost_ids": None if self.lost_ids is None else list(self.lost_ids),
                "latency_ms": dict(self.latency_ms),
                "availability_by_phase": {k: dict(v) for k, v in self.availability_by_phase.items()},
                **figures(ADDED)}


def _crashed(e: Exception) -> str:
    return f"measurement crashed: {type(e).__name__}: {e}"


def _attempt(compute: Callable[[], T], what: str, unavailable: dict[str, str]) -> T | None:
    """``compute()``, or None with the error noted against the measurement ``what`` if it raises."""
    try:
        return compute()
    except Exception as e:  # noqa: BLE001 - a crashing measurement makes its checks unknown
        unavailable[what] = _crashed(e)
        return None


def _is_figure(value: object) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)
                             and math.isfinite(value))


def _metrics(figures: ServiceFigures, unavailable: Mapping[str, str]) -> tuple[dict, dict]:
    """Every registered metric's figure, and why those without one are missing."""
    values: dict[str, float | None] = {}
    missing: dict[str, str] = {}
    for metric in METRICS.values():
        why = next((unavailable[n] for n in metric.needs if n in unavailable), None)
        if why is not None:
            missing[metric.name] = why
            continue
        try:
            value = metric.compute(figures)
        except Exception as e:  # noqa: BLE001 - a crashing metric is unknown, the others still count
            missing[metric.name] = _crashed(e)
            continue
        if _is_figure(value):
            values[metric.name] = value
        else:
            missing[metric.name] = f"measurement crashed: not a finite number: {value!r}"
    return values, missing


def measure(service: str, ops: Sequence[Op], windows: Sequence[FaultWindow],
            stopped: float | None, consecutive_ok: int,
            copies: Mapping[str, int] | None, no_readback: str) -> ServiceFigures:
    """Measure one service from its ``ops`` (ordered by ``mono``).

    ``copies`` is its read-back (None if there is none, ``no_readback`` saying why).
    """
    unavailable: dict[str, str] = {}
    figures: dict = {}
    counts = _attempt(lambda: {
        "requests": len(ops),
        "ok": sum(o.outcome == OK for o in ops),
        "failed": sum(o.outcome == FAIL for o in ops),
        "unknown": sum(o.outcome == UNKNOWN for o in ops),
        "availability": availability.ratio(ops),
        "latency_ms": availability.latency_ms(ops),
        "availability_by_phase": availability.by_phase(ops, windows, stopped),
    }, TRAFFIC, unavailable)
    figures.update(counts or {})
    outages = _attempt(lambda: tuple(rto.outages(ops, windows, consecutive_ok)), RECOVERY, unavailable)
    if outages is not None:
        figures.update(outages=outages, rto_s=rto.service_rto(outages))
    loss = _attempt(lambda: data_loss(ops, copies), WRITES, unavailable)
    if loss is not None:
        figures.update(acked_writes=loss.acked, unknown_writes=loss.unknown, lost_writes=loss.lost,
                       recovered_writes=loss.recovered, duplicate_writes=loss.duplicates,
                       lost_ids=loss.lost_ids)
        if loss.lost is None:
            unavailable[READBACK] = no_readback
    measured = ServiceFigures(service=service, ops=tuple(ops), windows=tuple(windows), **figures)
    values, missing = _metrics(measured, unavailable)
    return dataclasses.replace(measured, values=values, missing=missing)
