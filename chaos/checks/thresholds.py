"""An experiment's threshold applied to one service's figures, with a human reason when it fails.

What a metric's figure means (why it may be missing, how a failure reads) comes from its entry in
``chaos.checks.metrics``."""

from __future__ import annotations

from chaos.checks.figures import ServiceFigures
from chaos.checks.metrics import METRICS, Metric
from chaos.checks.verdict import CheckResult, Verdict
from chaos.experiment import Threshold


def check_name(threshold: Threshold, service: str) -> str:
    """``rto_s[orders]``, or for a part of the service ``rto_s[orders op=create]``, ``rto_s[orders kind=write]``."""
    part = f" {threshold.part}" if threshold.part else ""
    return f"{threshold.metric}[{service}{part}]"


def _fmt(figure: float) -> str:
    return f"{figure:g}" if isinstance(figure, float) else str(figure)


def _failure(metric: Metric, threshold: Threshold, figures: ServiceFigures, figure: float | None) -> str:
    """Why the threshold failed: the metric's own wording, or ``name = figure, expected ...``."""
    expected = threshold.describe()
    worded = metric.failure(figures, figure, expected) if metric.failure else None
    if worded is None:
        worded = f"{metric.name} = {_fmt(figure)}, expected {expected}"
    return f"{figures.label}: {worded}"


def evaluate(threshold: Threshold, figures: ServiceFigures) -> CheckResult:
    """Judge ``threshold`` on one service (``figures`` of the whole service: the threshold's part of
    it, an operation or a kind, is judged when it names one). Without a figure: ``fail`` for a metric
    whose missing figure is a failure (an RTO: never recovered), ``unknown`` otherwise; a service (or
    part) without any request is ``unknown`` whatever the metric."""
    name = check_name(threshold, figures.service)
    base = dict(name=name, threshold=threshold.describe(), service=figures.service)
    figures = figures.part_figures(threshold.part)
    s = figures.label

    def unknown(why: str) -> CheckResult:
        return CheckResult(verdict=Verdict.UNKNOWN, detail=why,
                           reason=f"{s}: {threshold.metric} could not be judged: {why}", **base)

    metric = METRICS.get(threshold.metric)
    if metric is None:
        return unknown(f"unknown metric {threshold.metric!r} (known: {', '.join(METRICS)})")
    if threshold.metric in figures.missing:
        return unknown(figures.missing[threshold.metric])
    if figures.requests == 0:
        return unknown(f"no requests recorded for {s}")
    figure = figures.figure(threshold.metric)
    if figure is None and metric.none_fails:
        return CheckResult(verdict=Verdict.FAIL, figure=None, detail=metric.why_none,
                           reason=_failure(metric, threshold, figures, None), **base)
    if figure is None:
        return unknown(metric.why_none)
    detail = metric.detail(figures) if metric.detail else ""
    if threshold.holds(figure):
        return CheckResult(verdict=Verdict.PASS, figure=figure, detail=detail, **base)
    return CheckResult(verdict=Verdict.FAIL, figure=figure, detail=detail,
                       reason=_failure(metric, threshold, figures, figure), **base)
