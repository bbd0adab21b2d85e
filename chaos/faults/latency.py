"""latency: slow a link between two sites (a Toxiproxy ``latency`` toxic: ``latency_ms`` +/-
``jitter_ms`` added to the data of each chosen direction) for ``duration_s``."""

from __future__ import annotations

from chaos.faults.link import DIRECTION, MAX_MS, lasts, link_decl, ToxicFault
from chaos.faults.params import Param


class Latency(ToxicFault):
    decl = link_decl(
        "latency",
        Param("latency_ms", "int", required=True, min=0, max=MAX_MS, doc="Added delay per direction, in milliseconds."),
        Param("jitter_ms", "int", default=0, min=0, max=MAX_MS, doc="Random variation of the delay, in milliseconds."),
        lasts("the latency stays in place"),
        DIRECTION,
        doc="Slow a link between two sites (a Toxiproxy latency toxic). latency_ms is added per direction: "
        "with direction both, a round trip gains twice latency_ms, and a request that makes several round "
        "trips across the link (each statement to a remote primary) gains that each time. Every proxy of "
        "the link is slowed, not only one service's traffic.",
    )
    toxic = "latency"

    def attributes(self) -> dict:
        return {"latency": self.spec.params["latency_ms"], "jitter": self.spec.params.get("jitter_ms", 0)}
