"""The steps of a run in order (each fault's injection and its scheduled heal), and how late they
run.

Without a game day every step runs at its planned offset from the load's start. In a game day a
step waits for the facilitator's go; the time it was *held* (from the first moment it was due and
not allowed, to the go) shifts every later step and the load's end by as much, so the relative
timing of the plan is kept: a heal planned 30 s after its injection still comes 30 s after it.
Lateness that no one asked for (a loop turn, a slow injection) shifts nothing.

A pure module: no clock; callers pass ``now`` (seconds since the load started).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

LOAD, INJECT, HEAL = "load", "inject", "heal"
_ORDER = {INJECT: 0, HEAL: 1}  # at the same offset, injections first (as the plan lists them)


@dataclass(frozen=True)
class Step:
    """One step: ``action`` is ``load`` (start the load), ``inject`` or ``heal`` (of ``fault``)."""

    at_s: float  # planned offset from the load's start
    action: str
    fault_id: str = ""
    fault: object = field(default=None, compare=False, repr=False)

    def describe(self) -> str:
        if self.action == LOAD:
            return "start the load"
        what = f"{self.fault.type} on {self.fault.spec.target.describe()}"
        if self.action == INJECT:
            return f"{self.fault_id} {what}"
        return f"{self.fault_id} {getattr(self.fault, 'heal_verb', 'healed')} (end of {what})"


@dataclass(frozen=True)
class Planned:
    """A fault as its declaration (``chaos.faults.params.FaultDecl``) describes it, no implementation
    built: what ``plan`` schedules. It has what ``steps_of`` and ``Step.describe`` read of a fault."""

    spec: object  # FaultSpec
    decl: object  # FaultDecl

    @property
    def type(self) -> str:
        return self.decl.type

    @property
    def heal_verb(self) -> str:
        return self.decl.heal_verb

    @property
    def heal_after_s(self) -> float | None:
        return self.decl.heal_after_s(self.spec.params)


def steps_of(faults: Iterable[tuple[str, object]]) -> list[Step]:
    """Every fault's injection, and its heal when it has a duration (``heal_after_s``), in the order
    they are due; a fault healed only at the end of the run has no heal step. A fault is anything
    with a ``spec`` and a ``heal_after_s``: a ``chaos.faults.Fault`` for a run, a ``Planned`` for a
    plan."""
    steps = []
    for fid, fault in faults:
        steps.append(Step(fault.spec.at_s, INJECT, fid, fault))
        if fault.heal_after_s is not None:
            steps.append(Step(fault.spec.at_s + fault.heal_after_s, HEAL, fid, fault))
    return sorted(steps, key=lambda s: (s.at_s, _ORDER[s.action]))


class Schedule:
    def __init__(self, steps: Iterable[Step], duration_s: float):
        self.pending: list[Step] = list(steps)
        self.fired: list[Step] = []
        self.duration_s = duration_s
        self.shift_s = 0.0  # total time steps were held so far
        self.held_since: float | None = None  # when the step now due was first held

    def due(self, now: float) -> Step | None:
        """The next step if it is due at ``now`` (its planned offset plus the shift), else None."""
        if self.pending and self.pending[0].at_s + self.shift_s <= now:
            return self.pending[0]
        return None

    def hold(self, now: float) -> None:
        """The due step may not run yet (no go): it is held from now, if it was not already."""
        if self.held_since is None:
            self.held_since = now

    def fire(self, now: float) -> Step:
        """The due step runs at ``now``: it leaves the schedule, and the time it was held shifts
        every later step and the end."""
        if self.held_since is not None:
            self.shift_s += now - self.held_since
            self.held_since = None
        step = self.pending.pop(0)
        self.fired.append(step)
        return step

    def delay(self, now: float) -> float:
        """How late the plan runs at ``now``: the shift so far plus the hold going on."""
        return self.shift_s + (now - self.held_since if self.held_since is not None else 0.0)

    def end(self, now: float) -> float:
        """When the load ends (seconds since it started), counting the hold going on."""
        return self.duration_s + self.delay(now)

    def next_at(self) -> float | None:
        """When the next step is due (seconds since the load started), or None if none is left."""
        return self.pending[0].at_s + self.shift_s if self.pending else None
