"""Judge a history against an experiment's hypothesis: figures per service, checks, one verdict."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from chaos.checks.builtin import faults_healed, history_complete, history_not_empty, not_aborted
from chaos.checks.data_loss import has_writes
from chaos.checks.figures import ServiceFigures, measure
from chaos.checks.invariants import Invariants, invariant_checks
from chaos.checks.thresholds import check_name, evaluate
from chaos.checks.verdict import CheckResult, Verdict, check_safe, compose
from chaos.checks.windows import fault_windows, load_stopped
from chaos.experiment import Experiment
from chaos.history import History, Op

# service -> write id -> how many times the system holds it after recovery
Readback = Mapping[str, Mapping[str, int]]


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    services: Mapping[str, ServiceFigures]
    checks: tuple[CheckResult, ...]
    reasons: tuple[str, ...]  # one line per check that did not pass


def _copies(readback: Readback | None, service: str,
            ops: Sequence[Op]) -> tuple[Mapping[str, int] | None, str]:
    """The service's read-back, or None and why there is none.

    A service that wrote nothing has nothing to read back: an empty read-back, not a missing one.
    """
    if readback is None:
        return None, "no read-back was done"
    if service in readback:
        return readback[service], ""
    if not has_writes(ops):
        return {}, ""
    return None, f"the read-back has no entry for {service}"


def judge(history: History, experiment: Experiment, services: Sequence[str],
          readback: Readback | None = None, invariants: Invariants | None = None) -> Judgement:
    """Measure every service (those listed, those in the history, those a threshold names) and
    judge the experiment's thresholds on each, plus the built-in checks and the invariants the
    stack reported after the run. ``not_aborted`` is among them when the experiment has ``abort_if``
    conditions or the history holds an ``aborted`` mark."""
    windows = fault_windows(history)
    stopped = load_stopped(history)
    named = {t.service for t in experiment.checks if t.service}
    measured = sorted({*services, *history.services(), *named})
    by_service: dict[str, list[Op]] = {s: [] for s in measured}
    for o in sorted(history.ops, key=lambda o: o.mono):
        by_service[o.service].append(o)
    figures = {}
    for service, ops in by_service.items():
        copies, no_readback = _copies(readback, service, ops)
        figures[service] = measure(service, ops, windows, stopped,
                                   experiment.rto_consecutive_ok, copies, no_readback)
    checks = [check_safe("history_not_empty", None, lambda: history_not_empty(history)),
              check_safe("faults_healed", None, lambda: faults_healed(windows)),
              check_safe("history_complete", None, lambda: history_complete(history))]
    if experiment.abort_if or history.mark("aborted") is not None:
        checks.append(check_safe("not_aborted", None, lambda: not_aborted(history)))
    for threshold in experiment.checks:
        for service in ([threshold.service] if threshold.service else figures):
            checks.append(check_safe(check_name(threshold, service), service,
                                     lambda t=threshold, f=figures[service]: evaluate(t, f)))
    checks.extend(invariant_checks(invariants))
    return Judgement(verdict=compose(c.verdict for c in checks), services=figures,
                     checks=tuple(checks),
                     reasons=tuple(c.reason for c in checks if c.verdict != Verdict.PASS))
