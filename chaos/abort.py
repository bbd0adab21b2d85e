"""Stop conditions on live figures (an experiment's ``abort_if``), judged while the load runs.

A pure module: no clock, no files. The runner feeds every ``op`` of the history as it is read
(``add``) and asks, once per tick, whether a condition holds (``triggered(now)``, monotonic
seconds). An op counts at the moment its answer came back (``mono + latency``): that is when the
history learnt it, and an ok answer then is the evidence that the service was serving.

- ``all_services_failing_for_s: S``  no op at all was ok during the last S seconds;
- ``failing_for_s: S, service: X``   no op of X was ok during the last S seconds (without
  ``service``: the same for any service that has had at least one op);
- ``error_ratio_over: R, window_s: W`` among the ops answered during the last W seconds (of
  ``service``, or of every service), more than the share R were not ok (fail or unknown). Judged
  only once W seconds of load have passed and over at least ``min_requests`` ops.

"During the last S seconds" never reaches back before ``start`` (the load's start): a service
that never answered ok has been failing since the load started.

The first condition that holds wins and stays the answer (the run stops on it).
"""

from __future__ import annotations

import bisect
import math
from typing import Iterable, Sequence

from chaos.experiment import AbortCondition
from chaos.history import Op


class _Window:
    """When ops were answered, all and not-ok ones, as sorted lists: the counts over any
    ``[now - seconds, now]`` are two bisections, whatever order the ops were read in."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.every: list[float] = []
        self.bad: list[float] = []

    def add(self, at: float, ok: bool) -> None:
        bisect.insort(self.every, at)
        if not ok:
            bisect.insort(self.bad, at)

    def counts(self, now: float) -> tuple[int, int]:
        """(requests, not ok) answered in ``[now - seconds, now]``; older ones are forgotten, so
        ``now`` must not go back between calls."""
        since = now - self.seconds
        for answered in (self.every, self.bad):
            del answered[:bisect.bisect_left(answered, since)]
        return bisect.bisect_right(self.every, now), bisect.bisect_right(self.bad, now)


class AbortMonitor:
    """Judges ``conditions`` over the ops it is given; ``start`` is the load's start (monotonic s)."""

    def __init__(self, conditions: Sequence[AbortCondition], start: float):
        self.conditions = tuple(conditions)
        self.start = start
        self.last_ok_any = -math.inf
        self.last_ok: dict[str, float] = {}  # service -> when its latest ok answer came back
        self.seen: set[str] = set()  # services with at least one op
        self.windows = {i: _Window(c.window_s) for i, c in enumerate(self.conditions)
                        if c.error_ratio_over is not None}
        self.reason: str | None = None

    def add(self, op: Op) -> None:
        at = op.mono + op.latency
        self.seen.add(op.service)
        if op.ok:
            self.last_ok_any = max(self.last_ok_any, at)
            self.last_ok[op.service] = max(self.last_ok.get(op.service, -math.inf), at)
        for i, window in self.windows.items():
            service = self.conditions[i].service
            if service is None or service == op.service:
                window.add(at, op.ok)

    def extend(self, ops: Iterable[Op]) -> None:
        for op in ops:
            self.add(op)

    def triggered(self, now: float) -> str | None:
        """Why the run must stop (the first condition that holds at ``now``), or None."""
        if self.reason is None:
            for i, condition in enumerate(self.conditions):
                reason = self._check(i, condition, now)
                if reason is not None:
                    self.reason = f"abort_if[{i}] ({condition.describe()}): {reason}"
                    break
        return self.reason

    def _quiet(self, last_ok: float, now: float) -> float:
        """Seconds without an ok answer, counted from the load's start at the earliest."""
        return now - max(self.start, last_ok)

    def _check(self, i: int, c: AbortCondition, now: float) -> str | None:
        if c.all_services_failing_for_s is not None:
            quiet = self._quiet(self.last_ok_any, now)
            if quiet >= c.all_services_failing_for_s:
                return f"no request of any service was ok for {quiet:.1f} s"
            return None
        if c.failing_for_s is not None:
            watched = [c.service] if c.service is not None else sorted(self.seen)
            quiet, service = max(((self._quiet(self.last_ok.get(s, -math.inf), now), s) for s in watched),
                                 default=(0.0, None), key=lambda qs: qs[0])
            if service is not None and quiet >= c.failing_for_s:
                return f"no request of {service} was ok for {quiet:.1f} s"
            return None
        n, bad = self.windows[i].counts(now)
        if now - self.start < c.window_s or n < c.min_requests:
            return None
        if bad / n > c.error_ratio_over:
            who = f" of {c.service}" if c.service else ""
            return (f"{bad} of {n} requests{who} not ok in the last {c.window_s:g} s "
                    f"({bad / n:.0%}, over {c.error_ratio_over:.0%})")
        return None
