"""Checkers: pure functions from a history (and the read-back) to verdicts with figures.

No Docker, no network, no clock: every time comes from the history. ``judge`` is the entry point;
``METRICS`` (``chaos.checks.metrics``) is every metric a threshold may name.

``judge`` (with ``Judgement`` and ``Readback``) is imported on first use, not with the package: the
reports use the fault windows and the metric registry of this package, and a report renders a
journal without being able to judge (``tests/unit/test_vocabulary.py`` holds them to it).
"""

import importlib
import sys
from types import ModuleType

from chaos.checks.figures import ServiceFigures
from chaos.checks.metrics import METRICS, Metric, register
from chaos.checks.verdict import CheckResult, Verdict, check_safe, compose, exit_code_for
from chaos.checks.windows import FaultWindow, fault_windows

_JUDGING = ("Judgement", "Readback", "judge")

__all__ = ["METRICS", "CheckResult", "FaultWindow", "Judgement", "Metric", "Readback", "ServiceFigures",
           "Verdict", "check_safe", "compose", "exit_code_for", "fault_windows", "judge", "register"]


def _bind_judging(module) -> None:
    for n in _JUDGING:
        ModuleType.__setattr__(sys.modules[__name__], n, getattr(module, n))


def __getattr__(name: str):
    """``judge``, ``Judgement``, ``Readback``: from ``chaos.checks.judge``, imported now."""
    if name not in _JUDGING:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    _bind_judging(importlib.import_module("chaos.checks.judge"))
    return globals()[name]


class _Checks(ModuleType):
    """Importing ``chaos.checks.judge`` binds the package's ``judge`` to that module; it is bound to
    the function instead, so ``chaos.checks.judge`` is the function however the module was reached."""

    def __setattr__(self, name: str, value) -> None:
        if name == "judge" and isinstance(value, ModuleType):
            _bind_judging(value)
        else:
            super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Checks
