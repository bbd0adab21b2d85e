"""latency: slow a link between two sites (a Toxiproxy ``latency`` toxic: ``latency_ms`` +/-
``jitter_ms`` added to the data of each chosen direction) for ``duration_s``."""

from __future__ import annotations

from chaos.faults.base import implementation
from chaos.faults.link import ToxicFault


@implementation
class Latency(ToxicFault):
    type = "latency"
    toxic = "latency"

    def attributes(self) -> dict:
        return {"latency": self.spec.params["latency_ms"], "jitter": self.spec.params.get("jitter_ms", 0)}
