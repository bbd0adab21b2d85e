"""cut: a link between two sites goes dark: every proxy of the link is disabled (new connections
refused, open ones closed) for ``duration_s``; the heal re-enables them."""

from __future__ import annotations

from chaos.faults.link import DisableFault, lasts, link_decl


class Cut(DisableFault):
    decl = link_decl(
        "cut", lasts("the link stays cut"),
        doc="Cut a link between two sites: its proxies are disabled, connections refused and open ones closed. "
        "Every proxy of the pair goes (database, consensus, ...), both ways; the two sites keep running, "
        "and each still reaches the third site if there is one.",
    )
