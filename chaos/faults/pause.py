"""pause: freeze a service or a whole site (docker pause: the gray failure, requests hang instead
of failing fast) for ``duration_s``; healed by unpausing."""

from __future__ import annotations

from chaos.faults.base import Fault, all_at_once
from chaos.faults.params import FaultDecl, Param


def _unpause(container) -> None:
    container.reload()
    if container.status == "paused":
        container.unpause()


class Pause(Fault):
    decl = FaultDecl(
        type="pause", targets=("service", "site"),
        params=(Param("duration_s", "duration", required=True, above=0, doc="Seconds the containers stay frozen."),),
        duration="duration_s",
        doc="Freeze containers (docker pause): the gray failure, alive but not answering. "
        "{service: orders} freezes that service at every site (on a stack with the service at two sites, "
        "both: a total outage of it); {service: orders, site: pangyo} freezes one site's. {site: X} freezes every container of "
        "the site, its database and consensus members too. Requests hang rather than fail fast, until a "
        "timeout ends them (unknown outcomes where it is the client's own).",
    )

    def inject(self) -> str:
        victims = [c for c in self.targets() if c.status == "running"]
        all_at_once(victims, lambda c: c.pause(), "pause incomplete")
        return f"paused {', '.join(sorted(c.name for c in victims))}"

    def heal(self) -> str:
        found = self.targets()
        all_at_once(found, _unpause, "not unpaused everywhere")
        return f"unpaused {len(found)} containers"
