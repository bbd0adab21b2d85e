"""Checkers: pure functions from a history (and the read-back) to verdicts with figures.

No Docker, no network, no clock: every time comes from the history. ``judge`` is the entry point.
"""

from chaos.checks.figures import METRICS, ServiceFigures
from chaos.checks.judge import Judgement, Readback, judge
from chaos.checks.verdict import CheckResult, Verdict, check_safe, compose, exit_code_for
from chaos.checks.windows import FaultWindow, fault_windows

__all__ = ["METRICS", "CheckResult", "FaultWindow", "Judgement", "Readback", "ServiceFigures",
           "Verdict", "check_safe", "compose", "exit_code_for", "fault_windows", "judge"]
