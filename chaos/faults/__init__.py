"""Faults: one module per YAML ``type:``; each declares its parameters (``params.py``) and
implements ``inject`` and an idempotent ``heal`` (``base.py``). ``IMPLEMENTATIONS`` maps a type to
its class; importing this package registers every built-in fault."""

from chaos.faults.base import IMPLEMENTATIONS, Fault, FaultContext, implementation
from chaos.faults import kill, pause, power_cut  # noqa: F401  (registration)

__all__ = ["IMPLEMENTATIONS", "Fault", "FaultContext", "implementation"]
