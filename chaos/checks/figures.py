"""Every figure of one service, measured from the history and the read-back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence, TypeVar

from chaos.checks import availability, rto
from chaos.checks.data_loss import data_loss
from chaos.checks.windows import FaultWindow
from chaos.history import Op

T = TypeVar("T")

TRAFFIC_METRICS = ("requests", "ok", "failed", "unknown", "availability",
                   *(f"availability_{p}" for p in availability.PHASES),
                   *(f"latency_p{p}_ms" for p in availability.PERCENTILES))
WRITE_METRICS = ("acked_writes", "unknown_writes", "lost_writes", "recovered_writes",
                 "duplicate_writes")
READBACK_METRICS = ("lost_writes", "recovered_writes", "duplicate_writes")
# Every metric a threshold may name.
METRICS = (*TRAFFIC_METRICS, "rto_s", *WRITE_METRICS)


@dataclass(frozen=True)
class ServiceFigures:
    """One service's figures. ``missing`` says, per metric, why its figure could not be measured."""

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

    def figure(self, metric: str) -> float | None:
        """The figure a threshold on ``metric`` (one of ``METRICS``) compares."""
        if metric not in METRICS:
            raise KeyError(f"unknown metric {metric!r}")
        if metric.startswith("availability_"):
            return self.availability_by_phase[metric.removeprefix("availability_")]["availability"]
        if metric.startswith("latency_"):
            return self.latency_ms[metric.removeprefix("latency_").removesuffix("_ms")]
        return getattr(self, metric)

    def to_dict(self) -> dict:
        """The journal's form of a service (exactly these keys)."""
        return {"requests": self.requests, "ok": self.ok, "failed": self.failed,
                "unknown": self.unknown, "availability": self.availability, "rto_s": self.rto_s,
                "acked_writes": self.acked_writes, "lost_writes": self.lost_writes,
                "unknown_writes": self.unknown_writes, "recovered_writes": self.recovered_writes,
                "duplicate_writes": self.duplicate_writes,
                "lost_ids": None if self.lost_ids is None else list(self.lost_ids),
                "latency_ms": dict(self.latency_ms),
                "availability_by_phase": {k: dict(v) for k, v in self.availability_by_phase.items()}}


def _attempt(compute: Callable[[], T], metrics: Sequence[str], missing: dict[str, str]) -> T | None:
    """``compute()``, or None with the error noted against ``metrics`` if it raises."""
    try:
        return compute()
    except Exception as e:  # noqa: BLE001 - a crashing measurement makes its checks unknown
        for m in metrics:
            missing[m] = f"measurement crashed: {type(e).__name__}: {e}"
        return None


def measure(service: str, ops: Sequence[Op], windows: Sequence[FaultWindow],
            stopped: float | None, consecutive_ok: int,
            copies: Mapping[str, int] | None, no_readback: str) -> ServiceFigures:
    """Measure one service from its ``ops`` (ordered by ``mono``).

    ``copies`` is its read-back (None if there is none, ``no_readback`` saying why).
    """
    missing: dict[str, str] = {}
    figures: dict = {}
    counts = _attempt(lambda: {
        "requests": len(ops),
        "ok": sum(o.outcome == "ok" for o in ops),
        "failed": sum(o.outcome == "fail" for o in ops),
        "unknown": sum(o.outcome == "unknown" for o in ops),
        "availability": availability.ratio(ops),
        "latency_ms": availability.latency_ms(ops),
        "availability_by_phase": availability.by_phase(ops, windows, stopped),
    }, TRAFFIC_METRICS, missing)
    figures.update(counts or {})
    outages = _attempt(lambda: tuple(rto.outages(ops, windows, consecutive_ok)), ("rto_s",), missing)
    if outages is not None:
        figures.update(outages=outages, rto_s=rto.service_rto(outages))
    loss = _attempt(lambda: data_loss(ops, copies), WRITE_METRICS, missing)
    if loss is not None:
        figures.update(acked_writes=loss.acked, unknown_writes=loss.unknown, lost_writes=loss.lost,
                       recovered_writes=loss.recovered, duplicate_writes=loss.duplicates,
                       lost_ids=loss.lost_ids)
        if loss.lost is None:
            for m in READBACK_METRICS:
                missing[m] = no_readback
    return ServiceFigures(service=service, missing=missing, **figures)
