"""Faults: one module per YAML ``type:``; each declares its parameters (``params.py``) and
implements ``inject`` and an idempotent ``heal`` (``base.py``). ``IMPLEMENTATIONS`` maps a type to
its class; importing this package registers every built-in fault."""

from chaos.faults.base import IMPLEMENTATIONS, Fault, FaultContext, implementation
from chaos.faults import (  # noqa: F401  (registration)
    bandwidth, cut, isolate, kill, latency, pause, power_cut, reset_peer, site_loss, site_stop, timeout)

__all__ = ["IMPLEMENTATIONS", "Fault", "FaultContext", "implementation"]
