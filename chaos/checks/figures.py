"""Every figure of one service, measured from the history and the read-back.

``measure`` makes the measurements (counts, latency, phases, outages, writes), then computes every
metric of the registry (``chaos.checks.metrics``) from them; then it measures each part of the
service the same way, from that part's ops alone: each operation (the history's ``op``: create,
list, ...) and each kind (reads, writes: a request with a ``write_id`` is a write). So a part's RTO
is the service's RTO definition applied to that part's requests (its N successes in a row are N of
its own), and an operation without a request inside a fault's window has an unknown RTO there.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence, TypeVar

from chaos.checks import availability, rto
from chaos.checks.data_loss import data_loss
from chaos.checks.metrics import ADDED, KEY, METRICS, READBACK, RECOVERY, TRAFFIC, WRITES, NotMeasured
from chaos.checks.windows import FaultWindow
from chaos.history import FAIL, OK, UNKNOWN, Op
from chaos.run_folder import OP_KINDS, READ, WRITE

T = TypeVar("T")


@dataclass(frozen=True)
class ServiceFigures:
    """One service's measurements and its metrics' figures (``values``, by metric name).
    ``missing`` says, per metric, why its figure could not be measured. ``ops`` and ``windows``
    are what it was measured from (for a metric that needs the raw history), ``all_ops`` every op
    of the run (for a metric that relates a request to others, such as a read to its client's
    writes).

    A part of a service (``part``: ``op=create``, ``kind=write``) has figures of the same shape,
    measured from its ops alone; a whole service holds its parts in ``operations`` (by op name, each
    with its ``kind``: declared by the stack, else as recorded, None if its records are of both
    kinds) and ``kinds`` (``read``, ``write``: those the service has)."""

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
    all_ops: tuple[Op, ...] = field(default=(), repr=False, compare=False)
    part: str | None = None  # op=<name> | kind=<read|write>; None: all of the service's requests
    kind: str | None = None  # of an operation: read | write (None: its records are of both kinds)
    operations: Mapping[str, "ServiceFigures"] = field(default_factory=dict)
    kinds: Mapping[str, "ServiceFigures"] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """How messages name it: ``orders``, ``orders op=create``, ``billing kind=write``."""
        return self.service if self.part is None else f"{self.service} {self.part}"

    def part_figures(self, part: str | None) -> "ServiceFigures":
        """The figures of ``part`` (``op=<name>``, ``kind=<read|write>``; None: the whole service); a
        part the service has no request of has figures with ``requests`` 0 (judged ``unknown``)."""
        if part is None:
            return self
        what, _, name = part.partition("=")
        found = (self.operations if what == "op" else self.kinds).get(name)
        return found if found is not None else ServiceFigures(service=self.service, part=part, requests=0)

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

        shape = {**figures(KEY),
                 "lost_ids": None if self.lost_ids is None else list(self.lost_ids),
                 "latency_ms": dict(self.latency_ms),
                 "availability_by_phase": {k: dict(v) for k, v in self.availability_by_phase.items()},
                 **figures(ADDED),
                 "missing": dict(self.missing)}
        if self.part is None:
            shape["operations"] = {name: {"kind": f.kind, **f.to_dict()} for name, f in self.operations.items()}
            shape["kinds"] = {name: f.to_dict() for name, f in self.kinds.items()}
        return shape


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
        if metric.applies is not None and _attempt(lambda: metric.applies(figures), metric.name, missing) is False:
            continue  # not applicable: no figure, and nothing missing (a threshold naming it is unknown)
        if metric.name in missing:
            continue  # its applies hook crashed
        why = next((unavailable[n] for n in metric.needs if n in unavailable), None)
        if why is not None:
            missing[metric.name] = why
            continue
        try:
            value = metric.compute(figures)
        except NotMeasured as e:
            missing[metric.name] = str(e)
            continue
        except Exception as e:  # noqa: BLE001 - a crashing metric is unknown, the others still count
            missing[metric.name] = _crashed(e)
            continue
        if _is_figure(value):
            values[metric.name] = value
        else:
            missing[metric.name] = f"measurement crashed: not a finite number: {value!r}"
    return values, missing


def kind_of(op: Op) -> str:
    """``write`` for a request that carries a ``write_id``, ``read`` for every other one."""
    return WRITE if op.is_write else READ


def measure(service: str, ops: Sequence[Op], windows: Sequence[FaultWindow],
            stopped: float | None, consecutive_ok: int,
            copies: Mapping[str, int] | None, no_readback: str, *,
            all_ops: Sequence[Op] | None = None, declared: Mapping[str, str] | None = None,
            part: str | None = None, kind: str | None = None) -> ServiceFigures:
    """Measure one service from its ``ops`` (ordered by ``mono``), then (for a whole service, ``part``
    None) each of its parts: every operation it recorded or ``declared`` (the stack's operations of
    this service: op -> kind), every kind it has.

    ``copies`` is its read-back (None if there is none, ``no_readback`` saying why); ``all_ops``
    every op of the run (default: ``ops``).
    """
    every = tuple(ops if all_ops is None else all_ops)
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
    measured = ServiceFigures(service=service, ops=tuple(ops), windows=tuple(windows), all_ops=every,
                              part=part, kind=kind, **figures)
    values, missing = _metrics(measured, unavailable)
    measured = dataclasses.replace(measured, values=values, missing=missing)
    if part is not None:
        return measured

    def of(subset: list[Op], name: str, part_kind: str | None) -> ServiceFigures:
        return measure(service, subset, windows, stopped, consecutive_ok, copies, no_readback,
                       all_ops=every, part=name, kind=part_kind)

    declared = declared or {}
    operations = {}
    for name in sorted({o.op for o in ops} | set(declared)):
        subset = [o for o in ops if o.op == name]
        recorded = {kind_of(o) for o in subset}
        operations[name] = of(subset, f"op={name}", declared.get(name)
                              or (next(iter(recorded)) if len(recorded) == 1 else None))
    present = {kind_of(o) for o in ops} | set(declared.values())
    kinds = {}
    for k in OP_KINDS:
        if k not in present:
            continue
        subset = [o for o in ops if kind_of(o) == k]
        alone = [f for f in operations.values() if f.kind == k]
        if len(alone) == 1 and alone[0].ops == tuple(subset):  # the kind is that operation: measured already
            kinds[k] = dataclasses.replace(alone[0], part=f"kind={k}")
        else:
            kinds[k] = of(subset, f"kind={k}", k)
    return dataclasses.replace(measured, operations=operations, kinds=kinds)
