"""reset_peer: connections across a link are reset (TCP RST, "connection reset by peer") at once, or
``timeout_ms`` after they carry data (a Toxiproxy ``reset_peer`` toxic), for ``duration_s``."""

from __future__ import annotations

from chaos.faults.link import DIRECTION, ConnectionEndingToxic, after_ms, lasts
from chaos.faults.params import FaultDecl


class ResetPeer(ConnectionEndingToxic):
    decl = FaultDecl(
        type="reset_peer",
        targets=("link",),
        params=(
            after_ms("reset; 0: at once"),
            lasts("connections are reset"),
            DIRECTION,
        ),
        duration="duration_s",
        needs_toxiproxy=True,
        doc="Connections across a link are reset by peer (a Toxiproxy reset_peer toxic). New connections are "
        "still accepted and reset in turn (after timeout_ms of data) for as long as the fault lasts: clients "
        "that reconnect keep failing fast.",
    )
    toxic = "reset_peer"
