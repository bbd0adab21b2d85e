"""reset_peer: connections across a link are reset (TCP RST, "connection reset by peer") at once, or
``timeout_ms`` after they carry data (a Toxiproxy ``reset_peer`` toxic), for ``duration_s``."""

from __future__ import annotations

from chaos.faults.link import DIRECTION, after_ms, ConnectionEndingToxic, lasts, link_decl


class ResetPeer(ConnectionEndingToxic):
    decl = link_decl(
        "reset_peer",
        after_ms("reset; 0: at once"), lasts("connections are reset"), DIRECTION,
        doc="Connections across a link are reset by peer (a Toxiproxy reset_peer toxic). New connections are "
        "still accepted and reset in turn (after timeout_ms of data) for as long as the fault lasts: clients "
        "that reconnect keep failing fast.",
    )
    toxic = "reset_peer"
