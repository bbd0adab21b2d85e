"""pause: freeze a service or a whole site (docker pause: the gray failure, requests hang instead
of failing fast) for ``duration_s``; healed by unpausing."""

from __future__ import annotations

from chaos.faults.base import Fault, at_once, implementation


def _unpause(container) -> None:
    container.reload()
    if container.status == "paused":
        container.unpause()


@implementation
class Pause(Fault):
    type = "pause"

    @property
    def heal_after_s(self) -> float | None:
        return self.spec.params.get("duration_s")

    def inject(self) -> str:
        victims = [c for c in self.targets() if c.status == "running"]
        errors = at_once(victims, lambda c: c.pause())
        if errors:
            raise RuntimeError("pause incomplete: " + "; ".join(errors))
        return f"paused {', '.join(sorted(c.name for c in victims))}"

    def heal(self) -> str:
        found = self.targets()
        errors = at_once(found, _unpause)
        if errors:
            raise RuntimeError("; ".join(errors))
        return f"unpaused {len(found)} containers"
