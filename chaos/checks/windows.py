"""Fault windows: when each fault of a history was injected, healed, and how long its outage counts."""

from __future__ import annotations

from dataclasses import dataclass

from chaos.history import HEAL_FAILED, HEAL_INVOKED, HEALED, INVOKED, MARK_LOAD_STOPPED, History


@dataclass(frozen=True)
class FaultWindow:
    """One fault's span on the monotonic clock; its outage window is ``[injected, end)``.

    ``end`` is the start of the successful heal (its ``heal_invoked`` step, else its ``healed`` step)
    if there was one, else the ``load_stopped`` mark, else the last op; when faults overlap, a later
    injection takes the window over (see ``_hand_over``).
    """

    id: str
    type: str
    target: str
    injected: float
    injected_wall: float
    healed: float | None
    healed_wall: float | None
    heal_failed: bool
    end: float

    def contains(self, mono: float) -> bool:
        return self.injected <= mono < self.end

    @property
    def length_s(self) -> float:
        return max(0.0, self.end - self.injected)

    @property
    def heal_ok(self) -> bool:
        return self.healed is not None and not self.heal_failed


def load_stopped(history: History) -> float | None:
    """Monotonic time of the ``load_stopped`` mark, or None if the runner wrote none."""
    mark = history.mark(MARK_LOAD_STOPPED)
    return mark.mono if mark else None


def fault_windows(history: History) -> list[FaultWindow]:
    """One window per fault id that has an ``invoked`` step, in order of injection."""
    fallback_end = load_stopped(history)
    if fallback_end is None and history.ops:
        fallback_end = history.ops[-1].mono
    windows = []
    for fid, fsteps in history.steps_by_fault().items():
        invoked = next((s for s in fsteps if s.step == INVOKED), None)
        if invoked is None:
            continue
        healed = next((s for s in fsteps if s.step == HEALED and s.mono >= invoked.mono), None)
        # The outage window closes when the heal *starts*: disruption caused by undoing the fault
        # (a site coming back, caches warming) belongs to the after-heal phase, not to the RTO.
        heal_start = next((s for s in fsteps if s.step == HEAL_INVOKED and s.mono >= invoked.mono), None)
        if healed is not None:
            end = heal_start.mono if heal_start is not None and heal_start.mono <= healed.mono else healed.mono
        else:
            end = fallback_end if fallback_end is not None else invoked.mono
        windows.append(FaultWindow(
            id=fid, type=invoked.type, target=invoked.target,
            injected=invoked.mono, injected_wall=invoked.wall,
            healed=healed.mono if healed else None, healed_wall=healed.wall if healed else None,
            heal_failed=any(s.step == HEAL_FAILED for s in fsteps), end=end))
    return _hand_over(sorted(windows, key=lambda w: w.injected))


def _hand_over(windows: list[FaultWindow]) -> list[FaultWindow]:
    """Faults that overlap: a fault injected while an earlier one is still active takes over the
    outage from that moment. The earlier window ends at the later injection, and the later window
    runs at least until the earlier one would have ended. So in a chain (slowness, then a power
    cut) each fault is judged on the outage it caused, and the failures after the second injection
    count against the second fault, never as "the first fault never recovered"."""
    from dataclasses import replace

    out = list(windows)
    for i in range(len(out)):
        w = out[i]
        nxt = next((j for j in range(i + 1, len(out)) if w.injected < out[j].injected < w.end), None)
        if nxt is not None:
            out[nxt] = replace(out[nxt], end=max(out[nxt].end, w.end))
            out[i] = replace(w, end=out[nxt].injected)
    return out
