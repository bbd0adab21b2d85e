"""bandwidth: throttle a link between two sites to ``rate_kbps`` kilobits per second (a Toxiproxy
``bandwidth`` toxic, whose ``rate`` is in kilobytes per second: rate_kbps / 8) for ``duration_s``."""

from __future__ import annotations

from chaos.faults.base import implementation
from chaos.faults.link import ToxicFault


def kilobytes_per_s(kbps: int) -> int:
    """Toxiproxy's ``rate`` (KB/s, 1 KB = 1000 bytes) for ``kbps`` kilobits per second; never 0,
    which Toxiproxy reads as "no limit"."""
    return max(1, round(kbps / 8))


@implementation
class Bandwidth(ToxicFault):
    type = "bandwidth"
    toxic = "bandwidth"

    def attributes(self) -> dict:
        return {"rate": kilobytes_per_s(self.spec.params["rate_kbps"])}
