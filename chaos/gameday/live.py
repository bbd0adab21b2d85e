"""The game day's live view: a few lines of text made from the runner's ``LiveStatus`` (pure).

    t=12.3s of 32.0s (+2.0s held) | fault | active: f0 kill on service=truth-3s
    last 5s: truth-3s ok 0 fail 96 unknown 0 | truth-8s ok 101 fail 0 unknown 0
    WAITING FOR GO: f1 pause on service=truth-8s (planned t=8.0s): Enter to go, ! + Enter to abort
"""

from __future__ import annotations

from chaos.gate import LiveStatus
from chaos.run_folder import FAIL, OK, UNKNOWN
from chaos.schedule import Step


def _clock(live: LiveStatus) -> str:
    if live.elapsed_s is None:
        return f"before the load ({live.duration_s:g}s planned)"
    held = f" (+{live.delay_s:.1f}s held)" if live.delay_s >= 0.05 else ""
    return f"t={live.elapsed_s:.1f}s of {live.end_s:.1f}s{held}"


def _recent(live: LiveStatus) -> str:
    if live.elapsed_s is None:
        return "no load yet"
    if not live.recent:
        return f"last {live.window_s:g}s: no answer yet"
    parts = [f"{service} ok {c.get(OK, 0)} fail {c.get(FAIL, 0)} unknown {c.get(UNKNOWN, 0)}"
             for service, c in live.recent.items()]
    return f"last {live.window_s:g}s: " + " | ".join(parts)


def _next(live: LiveStatus, waiting: Step | None) -> str:
    if waiting is not None:
        return (f"WAITING FOR GO: {waiting.describe()} (planned t={waiting.at_s:g}s): "
                "Enter to go, ! + Enter to abort")
    if live.next_step is not None and live.next_at_s is not None:
        return f"next: {live.next_step.describe()} at t={live.next_at_s:.1f}s; load ends at t={live.end_s:.1f}s"
    return f"next: the load ends at t={live.end_s:.1f}s, then every fault still active is healed"


def live_lines(live: LiveStatus, waiting: Step | None) -> list[str]:
    """The live view: the clock, phase and active faults; each service's recent outcomes; what comes
    next (or the step waiting for a go)."""
    active = ", ".join(live.active) if live.active else "no fault active"
    return [f"{_clock(live)} | {live.phase} | {active}", _recent(live), _next(live, waiting)]
