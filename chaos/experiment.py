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


@dataclass(frozen=True)
class Threshold:
    """``metric op value``, e.g. rto_s <= 15. Applied to every measured service unless ``service`` is set."""

    metric: str  # rto_s | lost_writes | acked_writes | availability | ...
    op: str  # "<=" | ">=" | "=="
    value: float
    service: str | None = None

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


@dataclass(frozen=True)
class Experiment:
    name: str
    description: str
    stack: str
    load: Load
    faults: tuple[FaultSpec, ...]
    checks: tuple[Threshold, ...]
    expect: str = "pass"  # pass | fail
    tags: tuple[str, ...] = ()
    rto_consecutive_ok: int = 5  # successes in a row that end an outage
    recovery_wait_s: float = 30.0  # after the load: time allowed for the system to settle before read-back
    source: str = ""  # path of the file it came from

    def with_stack(self, stack: str) -> "Experiment":
        from dataclasses import replace

        return replace(self, stack=stack)
