"""An experiment's threshold applied to one service's figures, with a human reason when it fails."""

from __future__ import annotations

from chaos.checks.figures import METRICS, ServiceFigures
from chaos.checks.verdict import CheckResult, Verdict
from chaos.experiment import Threshold

MAX_IDS_IN_REASON = 10


def check_name(threshold: Threshold, service: str) -> str:
    return f"{threshold.metric}[{service}]"


def _fmt(figure: float) -> str:
    return f"{figure:g}" if isinstance(figure, float) else str(figure)


def _ids(ids: tuple[str, ...]) -> str:
    shown = ", ".join(ids[:MAX_IDS_IN_REASON])
    more = len(ids) - MAX_IDS_IN_REASON
    return shown + (f", ... and {more} more" if more > 0 else "")


def _never_recovered(figures: ServiceFigures) -> str:
    outage = next(o for o in figures.outages if o.rto_s is None)
    return (f"{figures.service}: never recovered within the {outage.window_s:.1f} s outage window "
            f"({outage.requests} requests, {outage.ok} ok after the fault)")


def _worst_outage(figures: ServiceFigures) -> str:
    if not figures.outages:
        return "no fault injected"
    worst = max(figures.outages, key=lambda o: o.rto_s)
    return f"recovered {worst.rto_s:.1f} s after {worst.fault_id} ({worst.fault_type})"


def _why_none(metric: str, figures: ServiceFigures) -> str:
    if metric in figures.missing:
        return figures.missing[metric]
    if metric.startswith("availability_"):
        return f"no requests in the {metric.removeprefix('availability_')} phase"
    if metric.startswith("latency_"):
        return "no ok requests"
    return "no figure"


def _failure(threshold: Threshold, figures: ServiceFigures, figure: float) -> str:
    s, expected = figures.service, threshold.describe()
    if threshold.metric == "lost_writes" and figures.lost_ids:
        n = len(figures.lost_ids)
        noun = "write" if n == 1 else "writes"
        return f"{s}: {n} acknowledged {noun} lost (ids: {_ids(figures.lost_ids)})"
    if threshold.metric == "rto_s":
        return f"{s}: {_worst_outage(figures)}, expected {expected}"
    if threshold.metric == "availability":
        return (f"{s}: availability {figure:.4f} ({figures.ok} of {figures.requests} requests ok), "
                f"expected {expected}")
    return f"{s}: {threshold.metric} = {_fmt(figure)}, expected {expected}"


def evaluate(threshold: Threshold, figures: ServiceFigures) -> CheckResult:
    """Judge ``threshold`` on one service. Without a figure: ``fail`` for an RTO (never recovered),
    ``unknown`` otherwise; a service without any request is ``unknown`` whatever the metric."""
    name, s = check_name(threshold, figures.service), figures.service
    base = dict(name=name, threshold=threshold.describe(), service=s)

    def unknown(why: str) -> CheckResult:
        return CheckResult(verdict=Verdict.UNKNOWN, detail=why,
                           reason=f"{s}: {threshold.metric} could not be judged: {why}", **base)

    if threshold.metric not in METRICS:
        return unknown(f"unknown metric {threshold.metric!r} (known: {', '.join(METRICS)})")
    if threshold.metric in figures.missing:
        return unknown(figures.missing[threshold.metric])
    if figures.requests == 0:
        return unknown(f"no requests recorded for {s}")
    figure = figures.figure(threshold.metric)
    if figure is None and threshold.metric == "rto_s":
        reason = _never_recovered(figures)
        return CheckResult(verdict=Verdict.FAIL, figure=None, detail="never recovered",
                           reason=reason, **base)
    if figure is None:
        return unknown(_why_none(threshold.metric, figures))
    detail = _worst_outage(figures) if threshold.metric == "rto_s" else ""
    if threshold.holds(figure):
        return CheckResult(verdict=Verdict.PASS, figure=figure, detail=detail, **base)
    return CheckResult(verdict=Verdict.FAIL, figure=figure, detail=detail,
                       reason=_failure(threshold, figures, figure), **base)
