"""Acknowledged writes against what the system still holds after recovery (Jepsen's set checker).

A write id is *acknowledged* if any op carrying it was ok; otherwise it is *indeterminate* if any
op carrying it was unknown (a timeout: it may or may not have happened). After the read-back
(``copies``: write id -> how many times the system holds it):

* lost        acknowledged ids held 0 times (or absent from the read-back);
* duplicates  ids held more than once, acknowledged or not;
* recovered   indeterminate ids that turned out to exist;
* unknown     indeterminate ids still not found: reported, never counted as lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from chaos.history import UNKNOWN, Op


@dataclass(frozen=True)
class DataLoss:
    """Figures needing the read-back are None when there is none."""

    acked: int
    unknown: int  # indeterminate ids not found (all of them without a read-back)
    lost: int | None
    recovered: int | None
    duplicates: int | None
    lost_ids: tuple[str, ...] | None


def classify(ops: Sequence[Op]) -> tuple[set[str], set[str], set[str]]:
    """(acknowledged, indeterminate, every) write id of ``ops``."""
    every = {o.write_id for o in ops if o.write_id is not None}
    acked = {o.write_id for o in ops if o.write_id is not None and o.ok}
    maybe = {o.write_id for o in ops if o.write_id is not None and o.outcome == UNKNOWN}
    return acked, maybe - acked, every


def has_writes(ops: Sequence[Op]) -> bool:
    return any(o.write_id is not None for o in ops)


def data_loss(ops: Sequence[Op], copies: Mapping[str, int] | None) -> DataLoss:
    """Judge one service's writes; ``copies`` is its read-back, or None if there was none."""
    acked, maybe, every = classify(ops)
    if copies is None:
        return DataLoss(acked=len(acked), unknown=len(maybe), lost=None, recovered=None,
                        duplicates=None, lost_ids=None)
    lost = sorted(i for i in acked if copies.get(i, 0) < 1)
    found = {i for i in maybe if copies.get(i, 0) >= 1}
    duplicates = [i for i in every if copies.get(i, 0) > 1]
    return DataLoss(acked=len(acked), unknown=len(maybe) - len(found), lost=len(lost),
                    recovered=len(found), duplicates=len(duplicates), lost_ids=tuple(lost))
