"""isolate: a site loses every link (the split-brain test): every proxy with the site at one end is
disabled for ``duration_s``, and nothing else: the site's own containers keep talking to each other
and the other sites keep their links. The heal re-enables them."""

from __future__ import annotations

from chaos.faults.link import DisableFault, lasts, link_decl


class Isolate(DisableFault):
    decl = link_decl(
        "isolate", lasts("the site stays isolated"), targets=("site",),
        doc="A site loses every link (split brain): every proxy to or from it is disabled; its internal "
        "traffic continues, and the entry point (not behind Toxiproxy in the shipped stacks) still sends "
        "clients there: the isolated site's apps keep answering what they can alone.",
    )
