"""bandwidth: throttle a link between two sites to ``rate_kbps`` kilobits per second (a Toxiproxy
``bandwidth`` toxic, whose ``rate`` is in kilobytes per second: rate_kbps / 8) for ``duration_s``."""

from __future__ import annotations

from chaos.faults.link import DIRECTION, lasts, link_decl, ToxicFault
from chaos.faults.params import Param


def kilobytes_per_s(kbps: int) -> int:
    """Toxiproxy's ``rate`` (KB/s, 1 KB = 1000 bytes) for ``kbps`` kilobits per second; never 0,
    which Toxiproxy reads as "no limit"."""
    return max(1, round(kbps / 8))


class Bandwidth(ToxicFault):
    decl = link_decl(
        "bandwidth",
        Param("rate_kbps", "int", required=True, min=8, max=100_000_000, doc="The link's throughput per connection and direction, in kilobits per second " "(Toxiproxy's rate is set to rate_kbps / 8 kilobytes per second).", ),
        lasts("the throttle stays in place"),
        DIRECTION,
        doc="Throttle a link between two sites (a Toxiproxy bandwidth toxic). The rate holds per connection "
        "and per direction, not for the link as a whole: ten connections may carry ten times rate_kbps.",
    )
    toxic = "bandwidth"

    def attributes(self) -> dict:
        return {"rate": kilobytes_per_s(self.spec.params["rate_kbps"])}
