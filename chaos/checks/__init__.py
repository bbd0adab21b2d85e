"""Checkers: pure functions from a history (and the read-back) to verdicts with figures.

No Docker, no network, no clock: every time comes from the history. ``chaos.checks.judge.judge`` is
the entry point; ``METRICS`` (``chaos.checks.metrics``) is every metric a threshold may name.

The package itself does not import the judge: the reports use this package's fault windows and
metric registry, and a report renders a journal without being able to judge
(``tests/unit/test_vocabulary.py`` holds them to it). A checker module that adds metrics
(``read_your_writes``) registers them when this package is imported.
"""

from chaos.checks import read_your_writes  # noqa: F401  (registers stale_reads, uninspected_reads)
from chaos.checks.figures import ServiceFigures
from chaos.checks.metrics import METRICS, Metric, register
from chaos.checks.verdict import CheckResult, Verdict, check_safe, compose, exit_code_for
from chaos.checks.windows import FaultWindow, fault_windows

__all__ = ["METRICS", "CheckResult", "FaultWindow", "Metric", "ServiceFigures", "Verdict", "check_safe", "compose",
           "exit_code_for", "fault_windows", "register"]
