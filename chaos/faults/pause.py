"""pause: freeze a service or a whole site (docker pause: the gray failure, requests hang instead
of failing fast) for ``duration_s``; healed by unpausing."""

from __future__ import annotations

from chaos.faults.base import Fault, all_at_once, implementation


def _unpause(container) -> None:
    container.reload()
    if container.status == "paused":
        container.unpause()


@implementation
class Pause(Fault):
    type = "pause"
    heal_after_param = "duration_s"

    def inject(self) -> str:
        victims = [c for c in self.targets() if c.status == "running"]
        all_at_once(victims, lambda c: c.pause(), "pause incomplete")
        return f"paused {', '.join(sorted(c.name for c in victims))}"

    def heal(self) -> str:
        found = self.targets()
        all_at_once(found, _unpause, "not unpaused everywhere")
        return f"unpaused {len(found)} containers"
