"""Read-your-writes: a client that was told its write is committed never reads older data.

The workload records, on a read that must reflect its client's (``who``) own earlier writes, their
ids (``expect``) and, when the read answered, which of them it reflected (``saw``; null when the
answer could not be inspected). The checker does not take ``expect`` on trust: an expected id counts
only if the history holds an acknowledged (``ok``) write of it by the same client that completed
(``mono + latency``) before the read started. A read is then

* *checked*   it answered (``ok``), ``saw`` is a list, and at least one expected id counts;
* *stale*     checked, and some counted id is missing from ``saw`` (each one named, with its times);
* *unanswered* it failed or timed out: no data to judge (an outage, not a stale read);
* *uninspected* it answered but ``saw`` is null: not a pass of that read, counted and reported.

Figures (metrics of the registry, per service and per part of one): ``stale_reads`` and
``uninspected_reads``. A service with no read that carries ``expect`` is not judged by a threshold
that names no service (the check does not apply to it); a history with no such read at all, or none
that could be checked, measured nothing: the check is ``unknown``, never a pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Sequence, TYPE_CHECKING

from chaos.checks.metrics import MAX_COUNT, TRAFFIC, Metric, NotMeasured, register
from chaos.history import Op

if TYPE_CHECKING:
    from chaos.checks.figures import ServiceFigures

MAX_SHOWN = 5  # stale reads named in a reason; the rest are counted


@dataclass(frozen=True)
class StaleRead:
    read: Op
    missed: tuple[tuple[str, float], ...]  # (write id, wall time its acknowledgement arrived)


@dataclass(frozen=True)
class ReadYourWrites:
    reads: int  # reads that carry ``expect``
    checked: int
    stale: tuple[StaleRead, ...]
    unanswered: int
    uninspected: int
    unbacked: int  # expected ids without an acknowledged write by that client before the read: not counted


def must_reflect(op: Op) -> bool:
    """A read that lists writes it must reflect."""
    return not op.is_write and bool(op.expect)


def _acknowledged(ops: Sequence[Op]) -> dict[str, list[tuple[str | None, float, float]]]:
    """write id -> [(client, monotonic end, wall end)] of each acknowledged write of it."""
    acked: dict[str, list[tuple[str | None, float, float]]] = {}
    for o in ops:
        if o.is_write and o.ok:
            acked.setdefault(o.write_id, []).append((o.who, o.mono + o.latency, o.start + o.latency))
    return acked


def read_your_writes(reads: Sequence[Op], every: Sequence[Op]) -> ReadYourWrites:
    """Judge the ``reads`` (those that carry ``expect``; others are passed over) against the
    acknowledged writes among ``every`` op of the run."""
    return _judge(reads, _acknowledged(every))


def _judge(reads: Sequence[Op], acked: dict[str, list[tuple[str | None, float, float]]]) -> ReadYourWrites:
    checked = unanswered = uninspected = unbacked = 0
    stale: list[StaleRead] = []
    judged = [r for r in reads if must_reflect(r)]
    for read in judged:
        if not read.ok:
            unanswered += 1
            continue
        if read.saw is None:
            uninspected += 1
            continue
        owed: list[tuple[str, float]] = []
        for wid in dict.fromkeys(read.expect):
            done = [wall for who, end, wall in acked.get(wid, ())
                    if end <= read.mono and (read.who is None or who == read.who)]
            if done:
                owed.append((wid, min(done)))
            else:
                unbacked += 1
        if not owed:
            continue
        checked += 1
        seen = set(read.saw)
        missed = tuple((wid, at) for wid, at in owed if wid not in seen)
        if missed:
            stale.append(StaleRead(read, missed))
    return ReadYourWrites(reads=len(judged), checked=checked, stale=tuple(stale), unanswered=unanswered,
                          uninspected=uninspected, unbacked=unbacked)


def clock(wall: float) -> str:
    """A wall time as the time of day in UTC, to the millisecond: ``06:12:01.123``."""
    return datetime.fromtimestamp(wall, timezone.utc).strftime("%H:%M:%S.%f")[:-3]


def describe(stale: StaleRead) -> str:
    r = stale.read
    ids = ", ".join(f"{wid} (acknowledged {clock(at)})" for wid, at in stale.missed)
    return f"{r.who or 'a client'} {r.op} at {clock(r.start)} UTC missed {ids}"


# One run's results, by the ops they were judged from: a service and each of its parts is asked for
# its figures several times (applies, stale_reads, uninspected_reads, the detail, the failure), and
# every one of them needs the run's acknowledged writes. Keyed by identity, with the objects held
# so that an id cannot be reused while its entry lives; a new run's ops replace the whole memo, in
# one assignment (a judge in another thread keeps the state it read: never another run's writes).
_memo: tuple = (None, {}, {})  # (every op of the run, its acknowledged writes, results by id of ops)


def _result(figures: ServiceFigures) -> ReadYourWrites:
    global _memo
    every = figures.all_ops or figures.ops
    state = _memo
    if state[0] is not every:
        state = (every, _acknowledged(every), {})
        _memo = state
    held = state[2].get(id(figures.ops))
    if held is None or held[0] is not figures.ops:
        held = (figures.ops, _judge(figures.ops, state[1]))
        state[2][id(figures.ops)] = held
    return held[1]


def _measured(result: ReadYourWrites) -> ReadYourWrites:
    """``result`` if it checked a read; NotMeasured saying why not otherwise."""
    if not result.reads:
        raise NotMeasured("no read that must reflect its client's own writes (expect) was recorded")
    if not result.checked:
        raise NotMeasured(f"none of the {result.reads} reads that must reflect their client's writes could be "
                          f"checked: {result.unanswered} did not answer, {result.uninspected} answered but could "
                          f"not be inspected (saw: null), the rest expected no write acknowledged before "
                          f"they started")
    return result


def counts(result: ReadYourWrites) -> str:
    return (f"{result.checked} reads checked, {len(result.stale)} stale; {result.uninspected} answered but "
            f"could not be inspected, {result.unanswered} did not answer")


def _stale_failure(figures: ServiceFigures, figure: float | None, expected: str) -> str:
    result = _result(figures)
    shown = "; ".join(describe(s) for s in result.stale[:MAX_SHOWN])
    more = len(result.stale) - MAX_SHOWN
    return (f"{len(result.stale)} stale reads of {result.checked} checked, expected {expected}: {shown}"
            + (f"; ... and {more} more" if more > 0 else ""))


def _uninspected(result: ReadYourWrites) -> int:
    if not result.reads:
        raise NotMeasured("no read that must reflect its client's own writes (expect) was recorded")
    return result.uninspected


def _applies(figures: ServiceFigures) -> bool:
    return any(must_reflect(o) for o in figures.ops)


register(Metric(
    "stale_reads", unit="reads", kind="int", max=MAX_COUNT, needs=(TRAFFIC,), column="stale reads", brief="stale",
    alarm=True, applies=_applies, why_none="no read that must reflect its client's own writes (expect) was recorded",
    doc="Reads that did not reflect one of their client's own writes acknowledged before they started "
        "(read-your-writes); only reads that answered and could be inspected count.",
    compute=lambda f: len(_measured(_result(f)).stale), failure=_stale_failure,
    detail=lambda f: counts(_result(f))))
register(Metric(
    "uninspected_reads", unit="reads", kind="int", max=MAX_COUNT, needs=(TRAFFIC,), column=None, brief=None,
    applies=_applies, why_none="no read that must reflect its client's own writes (expect) was recorded",
    doc="Reads that must reflect their client's own writes, answered, and could not be inspected (saw: null): "
        "never a pass of that read.",
    compute=lambda f: _uninspected(_result(f)),
    detail=lambda f: counts(_result(f))))
