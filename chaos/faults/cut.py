"""cut: a link between two sites goes dark: every proxy of the link is disabled (new connections
refused, open ones closed) for ``duration_s``; the heal re-enables them."""

from __future__ import annotations

from chaos.faults.base import implementation
from chaos.faults.link import DisableFault


@implementation
class Cut(DisableFault):
    type = "cut"
