"""The typed, frozen experiment that the loader (``chaos.loader``) makes from a YAML file.

Nothing downstream reads raw YAML: the runner, the scheduler and the checks read these classes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping


@dataclass(frozen=True)
class Load:
    users: int = 20
    spawn_rate: float = 20.0
    duration_s: float = 60.0
    # Relative task weights the workload may honour (e.g. {"send": 3, "pay": 2}); empty = its default.
    mix: Mapping[str, float] = field(default_factory=dict)
    # Locust processes making the load: 1 is one process (no master); more is a master and workers,
    # ``remote_workers`` of which come from other machines (``chaos-harness worker --master HOST:PORT``).
    workers: int = 1
    remote_workers: int = 0


@dataclass(frozen=True)
class Target:
    """What a fault acts on: a site, a service (optionally at one site), or a link between two sites."""

    site: str | None = None
    service: str | None = None
    link: tuple[str, str] | None = None

    def describe(self) -> str:
        if self.link:
            return f"link={self.link[0]}-{self.link[1]}"
        parts = []
        if self.service:
            parts.append(f"service={self.service}")
        if self.site:
            parts.append(f"site={self.site}")
        return ",".join(parts)


@dataclass(frozen=True)
class FaultSpec:
    type: str
    target: Target
    at_s: float  # offset from the start of the load
    params: Mapping[str, Any] = field(default_factory=dict)  # checked against the fault's declaration
    line: int | None = None  # where it was written, for messages
    path: str = field(default="", compare=False)  # its key path in the file (faults[2]), for messages


@dataclass(frozen=True)
class Threshold:
    """``metric op value``, e.g. rto_s <= 15. Applied to every measured service unless ``service`` is set.

    With ``operation`` (an op the stack declares, e.g. create) or ``kind`` (read or write) it judges
    that part of each service's requests only: the figures of those requests, measured as a
    service's are."""

    metric: str  # rto_s | lost_writes | acked_writes | availability | ...
    op: str  # "<=" | ">=" | "=="
    value: float
    service: str | None = None
    path: str = field(default="", compare=False)  # its key path in the file (checks.rto_s[1]), for messages
    operation: str | None = None  # the workload's op (the history's ``op``) it judges, e.g. create
    kind: str | None = None  # read | write: the kind of requests it judges

    @property
    def part(self) -> str | None:
        """Which part of a service's requests it judges, as the journal names it: ``op=create``,
        ``kind=write``; None for all of them."""
        if self.operation is not None:
            return f"op={self.operation}"
        if self.kind is not None:
            return f"kind={self.kind}"
        return None

    def holds(self, figure: float | None) -> bool:
        if figure is None:
            return False
        if self.op == "<=":
            return figure <= self.value
        if self.op == ">=":
            return figure >= self.value
        return figure == self.value

    def describe(self) -> str:
        return f"{self.metric} {self.op} {self.value:g}"


ABORT_KINDS = ("all_services_failing_for_s", "failing_for_s", "error_ratio_over")


@dataclass(frozen=True)
class AbortCondition:
    """One ``abort_if`` entry: a stop condition on live figures, evaluated by ``chaos.abort``.

    Exactly one of the three kinds is set:

    - ``all_services_failing_for_s``: no service had an ok request for this many seconds;
    - ``failing_for_s``: ``service`` (None: any service that has had requests) had no ok request
      for this many seconds;
    - ``error_ratio_over``: over the last ``window_s`` seconds, more than this share of the
      requests (of ``service``, or of all) were not ok; judged only once ``window_s`` of load has
      passed and only over at least ``min_requests`` requests.
    """

    all_services_failing_for_s: float | None = None
    failing_for_s: float | None = None
    error_ratio_over: float | None = None
    service: str | None = None
    window_s: float = 30.0
    min_requests: int = 10
    line: int | None = None  # where it was written, for messages

    def __post_init__(self) -> None:
        kinds = [k for k in ABORT_KINDS if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(f"an abort condition sets exactly one of {', '.join(ABORT_KINDS)}, got {kinds}")
        if self.service is not None and self.all_services_failing_for_s is not None:
            raise ValueError("all_services_failing_for_s takes no service")

    @property
    def kind(self) -> str:
        """Which of ``ABORT_KINDS`` this condition is."""
        return next(k for k in ABORT_KINDS if getattr(self, k) is not None)

    def describe(self) -> str:
        """The condition as written, e.g. ``failing_for_s: 60 (orders)``."""
        if self.all_services_failing_for_s is not None:
            return f"all_services_failing_for_s: {self.all_services_failing_for_s:g}"
        who = f" ({self.service})" if self.service else ""
        if self.failing_for_s is not None:
            return f"failing_for_s: {self.failing_for_s:g}{who or ' (any service)'}"
        return f"error_ratio_over: {self.error_ratio_over:g}, window_s: {self.window_s:g}{who}"


@dataclass(frozen=True)
class Experiment:
    name: str
    description: str
    stack: str
    load: Load
    faults: tuple[FaultSpec, ...]
    checks: tuple[Threshold, ...]
    expect: str = "pass"  # pass | fail, for ``stack`` (the stack this run uses)
    tags: tuple[str, ...] = ()
    abort_if: tuple[AbortCondition, ...] = ()  # stop conditions on live figures; any one stops the run
    rto_consecutive_ok: int = 5  # successes in a row that end an outage
    recovery_wait_s: float = 30.0  # after the load: time allowed for the system to settle before read-back
    source: str = ""  # path of the file it came from
    # ``expect: {stack: pass|fail, ...}`` as written; empty for the scalar form, whose ``expect``
    # holds on any stack. With it, ``expect`` is always this mapping's verdict for ``stack``.
    expect_by_stack: Mapping[str, str] = field(default_factory=dict)
    # The line of every value as written, by key path (load.mix.send -> 7): for messages about a value
    # that only the stack can judge.
    lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)

    def expectations(self) -> str:
        """The expectation in words: ``pass``, or ``pass on dual-site, fail on single-site``."""
        if not self.expect_by_stack:
            return self.expect
        return ", ".join(f"{verdict} on {stack}" for stack, verdict in self.expect_by_stack.items())

    def with_stack(self, stack: str) -> "Experiment":
        """The same experiment on ``stack``, with the expectation for that stack.

        With ``expect`` a mapping, a stack it does not name is invalid input (ExperimentInvalid)."""
        from dataclasses import replace

        if not self.expect_by_stack:
            return replace(self, stack=stack)
        if stack not in self.expect_by_stack:
            from chaos.errors import ExperimentInvalid, Problem

            declared = ", ".join(self.expect_by_stack)
            message = (f"no expectation for stack {stack!r}: the file declares one only for {declared} "
                       f"(its expect mapping); run it on one of those, or add {stack!r} to the mapping")
            raise ExperimentInvalid([Problem(self.source, None, None, "expect", message)])
        return replace(self, stack=stack, expect=self.expect_by_stack[stack])
