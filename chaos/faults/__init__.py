"""Faults: one module per YAML ``type:``, holding its declaration (parameters, targets, duration,
plan wording: ``params.FaultDecl``) next to its ``inject`` and idempotent ``heal`` (``base.Fault``).

Adding a fault is adding one module to this package: importing ``chaos.faults`` imports every
module in it, and each ``Fault`` subclass with a ``decl`` registers itself. ``REGISTRY`` maps a
type to its declaration (all the loader, ``plan`` and ``schema`` need), ``IMPLEMENTATIONS`` to its
class (what the runner builds).
"""

import importlib
import pkgutil

from chaos.faults.base import IMPLEMENTATIONS, Fault, FaultContext
from chaos.faults.params import REGISTRY, FaultDecl, Param


def _discover() -> None:
    """Import every module of this package (a module imported already is not run again)."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


_discover()

__all__ = ["IMPLEMENTATIONS", "REGISTRY", "Fault", "FaultContext", "FaultDecl", "Param"]
