"""timeout: a link between two sites swallows data (a Toxiproxy ``timeout`` toxic): nothing gets
through and each connection is closed after ``timeout_ms``, or held open forever when it is 0, the
black hole in which clients wait on their own timeouts. Removing the toxic at the heal closes the
connections it held."""

from __future__ import annotations

from chaos.faults.link import DIRECTION, after_ms, ConnectionEndingToxic, lasts, link_decl


class Timeout(ConnectionEndingToxic):
    decl = link_decl(
        "timeout",
        after_ms("closed; 0: held open forever, data dropped"),
        lasts("the link swallows data"),
        DIRECTION,
        doc="A link that swallows data (a Toxiproxy timeout toxic): the black hole clients wait on. With "
        "timeout_ms 0 connections are held open with nothing getting through: requests hang until a "
        "timeout ends them (unknown outcomes where it is the client's own) instead of failing fast.",
    )
    toxic = "timeout"
