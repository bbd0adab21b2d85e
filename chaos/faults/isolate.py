"""isolate: a site loses every link (the split-brain test): every proxy with the site at one end is
disabled for ``duration_s``, and nothing else: the site's own containers keep talking to each other
and the other sites keep their links. The heal re-enables them."""

from __future__ import annotations

from chaos.faults.base import implementation
from chaos.faults.link import DisableFault


@implementation
class Isolate(DisableFault):
    type = "isolate"
