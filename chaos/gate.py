"""What the runner asks a game day before each step (``RunOptions.gate``; ``chaos.gameday``
implements it). Without a gate the runner runs every step on schedule.

The runner calls ``begin(writer)`` once, before the load's go; then, on every turn of its loop
(every 50 ms, while it waits for a go and while the load runs), ``poll(live, due)`` with the live
figures and the step that is due (None if none is): the answer is ``GO`` (run the due step now),
``WAIT`` (hold it: the plan shifts by the time it is held) or ``ABORT`` (heal every fault now, stop
the load, write the ``aborted`` mark with ``FACILITATOR_ABORT``; the run is judged as usual and
``not_aborted`` fails). ``end()`` comes once the load has stopped and every fault was healed, also
after Ctrl-C.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Mapping, Protocol

from chaos.schedule import Step

FACILITATOR_ABORT = "aborted by the facilitator"


class Answer(Enum):
    GO = "go"
    WAIT = "wait"
    ABORT = "abort"


@dataclass(frozen=True)
class LiveStatus:
    """What the run looks like now, for a live view."""

    elapsed_s: float | None  # since the load started; None before it started
    duration_s: float  # as planned
    end_s: float  # when the load will end, shifted by the steps held so far
    delay_s: float  # how late the plan runs (time steps were held, the current hold included)
    phase: str  # "before the load", "steady", "fault", "after heal"
    active: tuple[str, ...] = ()  # faults injected and not yet healed, e.g. "f0 kill on service=x"
    # per service, outcomes answered in the last ``window_s`` seconds: {"ok": n, "fail": n, "unknown": n}
    recent: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    window_s: float = 5.0
    next_step: Step | None = None  # the next step still to come (due or not)
    next_at_s: float | None = None  # when it is due (shifted)


class Gate(Protocol):
    def begin(self, writer) -> None: ...

    def poll(self, live: LiveStatus, due: Step | None) -> Answer: ...

    def end(self) -> None: ...
