"""Judge a history against an experiment's hypothesis: figures per service, checks, one verdict."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Mapping, Sequence

from chaos.checks.clocks import clock_bound, rto_step, undecided
from chaos.checks.builtin import RAN_AS_WRITTEN, history_not_empty, not_aborted, ran_as_written
from chaos.checks.data_loss import has_writes
from chaos.checks.figures import ServiceFigures, measure
from chaos.checks.invariants import Invariants, invariant_checks
from chaos.checks.metrics import METRICS
from chaos.checks.operations import NAME as OPERATIONS_CHECK, Declared, operations_as_declared
from chaos.checks.thresholds import check_name, evaluate
from chaos.checks.verdict import CheckResult, Verdict, check_safe, compose
from chaos.checks.windows import fault_windows, load_stopped
from chaos.experiment import Experiment, Threshold
from chaos.history import MARK_ABORTED, History, Op

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


def _applies(threshold: Threshold, figures: ServiceFigures) -> bool:
    """Whether a threshold that names no service judges this one: it has the part the threshold
    names (an operation it recorded or the stack declares for it, a kind it has) and the metric
    applies to it."""
    if threshold.operation is not None and threshold.operation not in figures.operations:
        return False
    if threshold.kind is not None and threshold.kind not in figures.kinds:
        return False
    metric = METRICS.get(threshold.metric)
    if metric is None or metric.applies is None:
        return True
    try:
        return bool(metric.applies(figures.part_figures(threshold.part)))
    except Exception:  # noqa: BLE001 - a crashing hook: judge the service (a crash there is unknown)
        return True


def _measured_nothing(threshold: Threshold, figures: Mapping[str, ServiceFigures]) -> CheckResult:
    """The ``unknown`` check of a threshold that no service gave anything to judge: none has the part
    it names, or its metric applies to none."""
    metric = METRICS.get(threshold.metric)
    has_part = any(f.part_figures(threshold.part).requests for f in figures.values())
    if has_part and metric is not None:
        why = metric.why_none
    else:
        why = f"no service recorded {threshold.part or 'any'} requests"
    name = check_name(threshold, "any service")
    return CheckResult(name, Verdict.UNKNOWN, threshold=threshold.describe(), detail=why,
                       reason=f"{name}: measured nothing: {why}")


def check_safe_bound(history: History) -> float:
    """The load workers' largest clock bound (``chaos.checks.clocks``); infinite if the marks cannot
    be read (every time is then undecided near its limit, never judged finer than it is)."""
    try:
        return clock_bound(history)
    except Exception:  # noqa: BLE001 - a crash here must not be a pass
        return float("inf")


def within_clocks(threshold: Threshold, bound: float, check: CheckResult) -> CheckResult:
    """A threshold on a time (a metric in seconds) judged as the workers' clocks allow: ``unknown``
    when the figure is within the clock bound of the limit (either verdict could be the truth), and
    its detail says the bound when it is coarser than the reports' 0.1 s."""
    metric = METRICS.get(threshold.metric)
    if metric is None or metric.unit != "s" or not bound or check.verdict == Verdict.UNKNOWN:
        return check
    step = rto_step(bound)
    if check.figure is not None and undecided(threshold.holds, check.figure, bound):
        why = (f"{threshold.metric} = {check.figure:.3f} s is within the load workers' clock bound "
               f"(±{bound:.3f} s) of {threshold.describe()}")
        return dataclasses.replace(check, verdict=Verdict.UNKNOWN, detail=why,
                                   reason=f"{check.name}: could not be judged: {why}")
    if step > 0.1 and check.detail:
        return dataclasses.replace(check, detail=f"{check.detail} (±{step:.1f} s: the load workers' clock bound)")
    return check


def judge(history: History, experiment: Experiment, services: Sequence[str],
          readback: Readback | None = None, invariants: Invariants | None = None,
          operations: Declared | None = None) -> Judgement:
    """Measure every service (those listed, those in the history, those a threshold names) and
    judge the experiment's thresholds on each, plus the built-in checks and the invariants the
    stack reported after the run. ``ran_as_written`` comes first and, when it does not pass, makes
    the verdict ``unknown`` over any other check's. ``not_aborted`` is among them when the experiment has ``abort_if``
    conditions or the history holds an ``aborted`` mark.

    ``operations`` is the stack's declaration (service -> {op: read | write}): each declared
    operation is measured even without a request (and so judged ``unknown``, never 0 s), and
    ``operations_as_declared`` checks the history against it. A threshold that names no service
    judges every service the metric applies to (``Metric.applies``) that has the part it names (an
    operation, a kind); when there is none, it is one ``unknown`` check: it measured nothing."""
    windows = fault_windows(history)
    stopped = load_stopped(history)
    bound = check_safe_bound(history)
    named = {t.service for t in experiment.checks if t.service}
    measured = sorted({*services, *history.services(), *named})
    by_service: dict[str, list[Op]] = {s: [] for s in measured}
    for o in sorted(history.ops, key=lambda o: o.mono):
        by_service[o.service].append(o)
    figures = {}
    for service, ops in by_service.items():
        copies, no_readback = _copies(readback, service, ops)
        figures[service] = measure(service, ops, windows, stopped,
                                   experiment.rto_consecutive_ok, copies, no_readback,
                                   all_ops=history.ops, declared=(operations or {}).get(service))
    # First, and deciding over every other: did the run do what the experiment says?
    as_written = check_safe(RAN_AS_WRITTEN, None, lambda: ran_as_written(history, experiment.faults))
    checks = [as_written, check_safe("history_not_empty", None, lambda: history_not_empty(history))]
    if experiment.abort_if or history.mark(MARK_ABORTED) is not None:
        checks.append(check_safe("not_aborted", None, lambda: not_aborted(history)))
    if operations:
        checks.append(check_safe(OPERATIONS_CHECK, None, lambda: operations_as_declared(history.ops, operations)))
    for threshold in experiment.checks:
        judged = [threshold.service] if threshold.service else [s for s in figures
                                                                 if _applies(threshold, figures[s])]
        for service in judged:
            checks.append(within_clocks(threshold, bound, check_safe(
                check_name(threshold, service), service, lambda t=threshold, f=figures[service]: evaluate(t, f))))
        if not judged:
            checks.append(_measured_nothing(threshold, figures))
    checks.extend(invariant_checks(invariants))
    # A run that did not happen as written is unknown, whatever else its checks say: never a pass,
    # and never the fail a single-site stack is expected to give.
    verdict = Verdict.UNKNOWN if as_written.verdict != Verdict.PASS else compose(c.verdict for c in checks)
    return Judgement(verdict=verdict, services=figures,
                     checks=tuple(checks),
                     reasons=tuple(c.reason for c in checks if c.verdict != Verdict.PASS))
