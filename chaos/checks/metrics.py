"""Every metric a threshold may name, in one registry: ``METRICS``, name -> ``Metric``.

A metric says what it is (name, unit, docstring), what a threshold on it may compare against (the
kind and bounds of the value: the loader checks them and ``chaos-harness schema`` publishes them)
and how its figure is computed from one service's figures (``ServiceFigures``, which also carries
the service's ops and the fault windows, for a metric that needs the raw history). Everything else
derives from the registry: the metrics the loader accepts (and its did-you-mean), the JSON Schema,
the journal's service shape, the wording of a failed threshold, the columns of the terminal summary
and of the HTML report.

Adding a metric is one entry: ``register(Metric(...))``, here or in any module imported before the
experiment is loaded. For example::

    register(Metric("slowest_ms", unit="ms", kind="number", max=MAX_MS,
                    doc="The slowest ok request, in milliseconds.",
                    compute=lambda f: max((o.latency * 1000 for o in f.ops if o.ok), default=None)))

A new metric is an ``ADDED`` key of the journal's services (written always, checked when present,
so journals written before it still read); never make it a ``KEY``, the fixed keys of
``chaos-harness/journal/1``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from chaos.checks import availability, rto

if TYPE_CHECKING:
    from chaos.checks.figures import ServiceFigures

# What a metric is computed from (``Metric.needs``): when that measurement could not be made, the
# metric has no figure and a threshold on it is unknown, saying why.
TRAFFIC = "traffic"  # the service's ops: counts, availability, latency, phases
RECOVERY = "recovery"  # its outages, one per fault window
WRITES = "writes"  # its writes, acknowledged or not
READBACK = "readback"  # what the system still held after recovery

# Where a metric's figure sits in the journal's ``services.<name>`` (``Metric.journal``).
KEY = "key"  # a fixed key of chaos-harness/journal/1: always written, required when read
ADDED = "added"  # a key added since: always written, checked only when present
NESTED = "nested"  # no key of its own: its figure is inside latency_ms or availability_by_phase

# A service's journal keys that are details, not metrics (ServiceFigures.to_dict writes them).
DETAILS = ("lost_ids", "latency_ms", "availability_by_phase", "missing", "operations", "kinds", "kind")
KINDS = ("int", "number", "duration")  # the threshold value's kind, as the loader's Param reads it
MAX_COUNT = 10**12  # more requests or writes than one run makes
MAX_MS = 7 * 24 * 3600 * 1000.0  # a week, in milliseconds
MAX_IDS_IN_REASON = 10
_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")


@dataclass(frozen=True)
class Metric:
    """One metric. ``compute`` returns the figure (a finite number, or None: no figure) or raises
    (the metric is then missing, the crash named). ``min``/``max`` bound a threshold's value
    (inclusive; a ``duration`` is at most a week without ``max``, every other kind needs one).

    How it reads: ``column`` is its heading in the HTML report's table of figures ("": its name,
    None: no column), ``brief`` its heading in the terminal summary ("": the column's, None: not
    shown); a ``ratio`` shows as a percentage; ``none`` is how a missing figure reads there;
    ``alarm``: a figure above 0 is shown as bad. ``why_none`` says why a service has no figure; with
    ``none_fails`` a threshold on a service without one fails (an RTO: never recovered) rather than
    being unknown. ``failure(figures, figure, expected)`` words a failed threshold after the
    service's name (None, or no hook: ``name = figure, expected ...``); ``detail(figures)`` is the
    check's detail line. ``applies(figures)``: whether a threshold that names no service judges this
    one (None: every service); a metric that applies to no service is one ``unknown`` check (it
    measured nothing), a service a threshold names is judged whatever this says.

    ``compute`` may raise ``NotMeasured(why)``: the figure is missing for that reason (a threshold
    on it is ``unknown``), not because the measurement crashed.
    """

    name: str
    unit: str
    kind: str
    doc: str
    compute: Callable[[ServiceFigures], float | None]
    min: float | None = 0
    max: float | None = None
    needs: tuple[str, ...] = ()
    journal: str = ADDED
    column: str | None = ""
    brief: str | None = ""
    none: str = "n/a"
    alarm: bool = False
    why_none: str = "no figure"
    none_fails: bool = False
    failure: Callable[[ServiceFigures, float | None, str], str | None] | None = None
    detail: Callable[[ServiceFigures], str] | None = None
    applies: Callable[[ServiceFigures], bool] | None = None

    @property
    def heading(self) -> str | None:
        """The column heading in the HTML report (None: no column)."""
        return self.name if self.column == "" else self.column

    @property
    def summary_heading(self) -> str | None:
        """The column heading in the terminal summary (None: not shown)."""
        return self.heading if self.brief == "" else self.brief


METRICS: dict[str, Metric] = {}


class NotMeasured(Exception):
    """Raised by a metric's ``compute``: the history holds nothing to measure it from, and why."""


def register(metric: Metric) -> Metric:
    """Add ``metric`` to ``METRICS``; ValueError if it is malformed or its name is taken."""
    problems = []
    if not _NAME.fullmatch(metric.name):
        problems.append("a name is lowercase letters, digits and underscores, at most 63")
    if metric.name in METRICS or metric.name in DETAILS:
        problems.append("the name is taken")
    if metric.kind not in KINDS:
        problems.append(f"kind is one of {', '.join(KINDS)}")
    if metric.max is None and metric.kind != "duration":
        problems.append("a number needs an upper bound (max)")
    if metric.journal not in (KEY, ADDED, NESTED):
        problems.append(f"journal is one of {KEY}, {ADDED}, {NESTED}")
    if not metric.unit or not metric.doc:
        problems.append("a unit and a doc are required")
    if problems:
        raise ValueError(f"metric {metric.name!r}: {'; '.join(problems)}")
    METRICS[metric.name] = metric
    return metric


def _ids(ids: tuple[str, ...]) -> str:
    shown = ", ".join(ids[:MAX_IDS_IN_REASON])
    more = len(ids) - MAX_IDS_IN_REASON
    return shown + (f", ... and {more} more" if more > 0 else "")


def worst_outage(figures: ServiceFigures) -> str:
    """The longest recovery of the service, in words (the detail of an RTO check)."""
    if not figures.outages:
        return "no fault injected"
    measured = [o for o in figures.outages if o.rto_s is not None]
    if not measured:
        return "no outage measured"
    worst = max(measured, key=lambda o: o.rto_s)
    return f"recovered {worst.rto_s:.1f} s after {worst.fault_id} ({worst.fault_type})"


def _rto(figures: ServiceFigures) -> float | None:
    """The worst RTO; NotMeasured when a fault's window holds no request (and none was "never")."""
    why = rto.unmeasured(figures.outages)
    if why:
        raise NotMeasured(why)
    return figures.rto_s


def _rto_failure(figures: ServiceFigures, figure: float | None, expected: str) -> str:
    if figure is None:
        outage = next(o for o in figures.outages if o.never_recovered)
        return (f"never recovered within the {outage.window_s:.1f} s outage window "
                f"({outage.requests} requests, {outage.ok} ok after the fault)")
    return f"{worst_outage(figures)}, expected {expected}"


def _availability_failure(figures: ServiceFigures, figure: float | None, expected: str) -> str:
    return f"availability {figure:.4f} ({figures.ok} of {figures.requests} requests ok), expected {expected}"


def _lost_failure(figures: ServiceFigures, figure: float | None, expected: str) -> str | None:
    if not figures.lost_ids:
        return None
    n = len(figures.lost_ids)
    return f"{n} acknowledged write{'' if n == 1 else 's'} lost (ids: {_ids(figures.lost_ids)})"


def _field(name: str) -> Callable[[ServiceFigures], float | None]:
    return lambda figures: getattr(figures, name)


def _count(name: str, unit: str, doc: str, needs: tuple[str, ...], **how) -> Metric:
    return register(Metric(name, unit=unit, kind="int", max=MAX_COUNT, doc=doc, compute=_field(name),
                           needs=needs, journal=KEY, **how))


# The fixed keys of chaos-harness/journal/1, in the journal's order (which is also the columns').
_count("requests", "requests", "Requests the service answered or timed out on.", (TRAFFIC,))
_count("ok", "requests", "Requests that succeeded.", (TRAFFIC,), column=None)
_count("failed", "requests", "Requests that failed.", (TRAFFIC,), column=None)
_count("unknown", "requests", "Requests whose outcome is unknown (timeouts).", (TRAFFIC,), column=None)
register(Metric("availability", unit="ratio", kind="number", max=1, needs=(TRAFFIC,), journal=KEY,
                doc="Ratio of ok requests to all requests.", compute=_field("availability"),
                column="availability %", brief="avail %", failure=_availability_failure))
register(Metric("rto_s", unit="s", kind="duration", needs=(RECOVERY,), journal=KEY,
                doc="Longest outage of a service after a fault, in seconds.", compute=_rto,
                column="RTO s", none="never", why_none="never recovered", none_fails=True,
                failure=_rto_failure, detail=worst_outage))
_count("acked_writes", "writes", "Writes the system acknowledged.", (WRITES,),
       column="acked writes", brief="acked")
_count("lost_writes", "writes", "Acknowledged writes missing after recovery.", (WRITES, READBACK),
       column="lost", alarm=True, failure=_lost_failure)
_count("unknown_writes", "writes", "Writes whose outcome is unknown (timeouts).", (WRITES,),
       column="unknown writes", brief="unknown")
_count("recovered_writes", "writes", "Writes whose outcome was unknown that the read-back found.",
       (WRITES, READBACK), column="recovered", brief=None)
_count("duplicate_writes", "writes", "Writes the system holds more than once.", (WRITES, READBACK),
       column="duplicates", brief=None)

# Nested in the journal: availability_by_phase.<phase>.availability and latency_ms.p<N>.
for _phase in availability.PHASES:
    register(Metric(
        f"availability_{_phase}", unit="ratio", kind="number", max=1, needs=(TRAFFIC,), journal=NESTED,
        doc=f"Ratio of ok requests to all requests in the {_phase} phase (steady: before the first fault; "
            "fault: inside a fault window; after_heal: from the last heal to the end of the load).",
        compute=lambda f, p=_phase: f.availability_by_phase[p]["availability"],
        column=None, why_none=f"no requests in the {_phase} phase"))
for _p in availability.PERCENTILES:
    register(Metric(
        f"latency_p{_p}_ms", unit="ms", kind="number", max=MAX_MS, needs=(TRAFFIC,), journal=NESTED,
        doc=f"The {_p}th percentile (nearest rank) of the ok requests' latency over the run, in milliseconds.",
        compute=lambda f, p=_p: f.latency_ms[f"p{p}"], column=None, why_none="no ok requests"))


# The outage a report draws: when it began and when the service was back, both in seconds after the
# first fault's injection (one origin for every fault, so a report places them on its timeline).
# The outage is that of the fault that decides the service's RTO: the first it never recovered from
# within its window, else the one with the longest RTO; no figure when no request failed there.
def deciding_outage(figures: ServiceFigures):
    """(the fault's window, its outage) that decides the service's RTO, or None when no fault
    caused a failure (a window without requests decides nothing)."""
    pairs = list(zip(figures.windows, figures.outages))
    never = [(w, o) for w, o in pairs if o.rto_s is None and o.requests > 0]
    if never:
        return never[0]
    hurt = [(w, o) for w, o in pairs if o.rto_s]
    return max(hurt, key=lambda p: p[1].rto_s) if hurt else None


def _outage_began(figures: ServiceFigures) -> float | None:
    decided = deciding_outage(figures)
    if decided is None:
        return None
    window = decided[0]
    ends = [o.mono + o.latency for o in figures.ops if not o.ok and window.contains(o.mono + o.latency)]
    return round(min(ends) - figures.windows[0].injected, 6) if ends else None


def _back(figures: ServiceFigures) -> float | None:
    decided = deciding_outage(figures)
    if decided is None:
        return None
    window, outage = decided
    if outage.rto_s is not None:
        return round(window.injected + outage.rto_s - figures.windows[0].injected, 6)
    after = [o for o in figures.ops if o.mono + o.latency >= window.injected]
    last_bad = max((i for i, o in enumerate(after) if not o.ok), default=None)
    if last_bad is None or last_bad + 1 >= len(after):
        return None  # failing up to the end of the load
    return round(after[last_bad + 1].mono - figures.windows[0].injected, 6)


register(Metric("outage_began_s", unit="s", kind="duration", needs=(RECOVERY,), column=None, brief=None,
                doc="When the service's outage began, in seconds after the first fault's injection: the end "
                    "of its first failed or unknown request inside the window of the fault that decides its "
                    "RTO (the first it never recovered from, else the one with the longest RTO). No figure "
                    "when no request failed there.",
                compute=_outage_began, why_none="no outage"))
register(Metric("back_s", unit="s", kind="duration", needs=(RECOVERY,), column=None, brief=None,
                doc="When the service was back from that outage, in seconds after the first fault's "
                    "injection: where its RTO ends, or, for a service that never recovered within the "
                    "fault's window, the start of its first ok request after its last failed or unknown "
                    "one (after the heal). No figure without an outage, or when it failed up to the end "
                    "of the load.",
                compute=_back, why_none="no outage, or not back before the load ended"))
