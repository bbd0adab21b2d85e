"""reset_peer: connections across a link are reset (TCP RST, "connection reset by peer") at once, or
``timeout_ms`` after they carry data (a Toxiproxy ``reset_peer`` toxic), for ``duration_s``."""

from __future__ import annotations

from chaos.faults.base import implementation
from chaos.faults.link import ConnectionEndingToxic


@implementation
class ResetPeer(ConnectionEndingToxic):
    type = "reset_peer"
    toxic = "reset_peer"
