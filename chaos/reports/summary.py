"""The compact terminal summary of a journal: services, faults, checks, reasons, verdict."""

from __future__ import annotations

from datetime import datetime
from typing import Callable

from chaos.checks.metrics import KEY, METRICS, Metric
from chaos.reports.journal import ABORTED
from chaos.reports.story import one_line, rto_text, seconds_text
from chaos.run_folder import READ, WRITE

_COLORS = {"pass": "32", "fail": "31", "unknown": "33"}


def _paint(text: str, verdict: str, color: bool, bold: bool = False) -> str:
    if not color:
        return text
    code = _COLORS.get(verdict, "0") + (";1" if bold else "")
    return f"\x1b[{code}m{text}\x1b[0m"


def number_text(value, none: str = "n/a") -> str:
    """A figure for people: 4 significant digits, ``none`` when there is no figure."""
    if value is None:
        return none
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def percent_text(ratio) -> str:
    """A ratio as a percentage with two decimals, ``n/a`` when there is none."""
    return "n/a" if ratio is None else f"{ratio * 100:.2f}"


def metric_text(metric: Metric, value) -> str:
    """A metric's figure for people: a ratio as a percentage, seconds to 0.1 s; its ``none`` word when
    there is none."""
    if metric.unit == "ratio":
        return percent_text(value)
    if metric.unit == "s" and value is not None:
        return seconds_text(value)
    return number_text(value, metric.none)


def service_text(metric: Metric, journal: dict, service: dict) -> str:
    """A metric's figure in a journal's service, for people: as ``metric_text``, and an RTO in words
    (``only after the heal, at +46.2 s`` rather than ``never``: ``chaos.reports.story``)."""
    if metric.name == "rto_s":
        return rto_text(journal, service)
    return service_metric_text(metric, service)


NOT_DURING_THE_FAULT = "not during the fault"


def service_metric_text(metric: Metric, figures: dict) -> str:
    """The figure of ``metric`` in a journal's service (or part of one): ``unknown`` when the journal
    says why it could not be measured (an RTO over a window without requests is not "never"). An RTO
    that has no figure is ``not during the fault``: the part did not recover while the fault lasted
    (whether it came back after the heal is said per service, ``chaos.reports.story``)."""
    value = figures.get(metric.name)
    if value is None and metric.name in (figures.get("missing") or {}):
        return "unknown"
    if value is None and metric.name == "rto_s":
        return NOT_DURING_THE_FAULT
    return metric_text(metric, value)


KIND_ROWS = {READ: "(all reads)", WRITE: "(all writes)"}


def part_rows(journal: dict) -> list[tuple[str, str, str, dict]]:
    """(service, operation or ``(all reads)``/``(all writes)``, kind, figures) of every part of every
    service in the journal: each operation, then each kind (unless it is one operation alone)."""
    rows = []
    for name, s in journal["services"].items():
        operations = s.get("operations") or {}
        for op, figures in operations.items():
            rows.append((name, op, figures.get("kind") or "mixed", figures))
        for kind, figures in (s.get("kinds") or {}).items():
            alone = [f for f in operations.values() if f.get("kind") == kind]
            if len(alone) == 1 and alone[0].get("requests") == figures.get("requests"):
                continue  # the kind is that one operation: the same figures again
            rows.append((name, KIND_ROWS.get(kind, kind), kind, figures))
    return rows


def metric_columns(journal: dict, heading: Callable[[Metric], str | None]) -> list[tuple[Metric, str]]:
    """The registry's metrics that have a column (``heading(metric)`` is not None) and a figure in
    the journal's services (a fixed key of the journal, or an added metric some service has), each
    with its heading."""
    services = journal["services"].values()
    return [(m, h) for m in METRICS.values() if (h := heading(m)) is not None
            and (m.journal == KEY or any(m.name in s for s in services))]


def figure_text(check: dict, journal: dict | None = None) -> str:
    """A journal check's figure for people: a threshold's metric says how its figure reads (seconds
    to 0.1 s) and how a missing one reads (``never`` for an RTO, or, given the ``journal``, ``only
    after the heal, at +46.2 s``), ``n/a`` otherwise."""
    name, bracket, _ = check["name"].partition("[")
    metric = METRICS.get(name) if bracket else None
    if metric is None:
        return number_text(check["figure"], "n/a")
    service = (journal or {}).get("services", {}).get(check["service"]) if check["service"] else None
    if check["figure"] is None and service is not None:
        return service_text(metric, journal, service)
    if check["figure"] is None and check["verdict"] == "unknown":
        return "unknown"
    return metric_text(metric, check["figure"])


def since_text(start: str, stamp: str | None) -> str:
    """``stamp`` as seconds after ``start`` (both ISO 8601), e.g. ``+15.0 s``; ``never`` for None."""
    if stamp is None:
        return "never"
    try:
        seconds = (datetime.fromisoformat(stamp) - datetime.fromisoformat(start)).total_seconds()
    except (TypeError, ValueError):
        return stamp
    return f"{seconds:+.1f} s"


def _table(rows: list[tuple[str, ...]], text_columns: int = 1) -> list[str]:
    """Rows as aligned lines: the first ``text_columns`` to the left, the figures to the right."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(cell.ljust(w) if i < text_columns else cell.rjust(w)
                             for i, (cell, w) in enumerate(zip(row, widths))).rstrip()
            for row in rows]


def _services(journal: dict) -> list[str]:
    columns = metric_columns(journal, lambda m: m.summary_heading)
    rows = [("service", *(heading for _, heading in columns))]
    for name, s in journal["services"].items():
        rows.append((name, *(service_text(m, journal, s) for m, _ in columns)))
    return ["services"] + _table(rows)


def _operations(journal: dict) -> list[str]:
    """Each service's figures per operation and per kind (RTO, availability, ...): which operations
    survived the fault and which waited."""
    parts = part_rows(journal)
    if not parts:
        return []
    columns = metric_columns(journal, lambda m: m.summary_heading)
    rows = [("service", "operation", "kind", *(heading for _, heading in columns))]
    rows += [(service, op, kind, *(service_metric_text(m, figures) for m, _ in columns))
             for service, op, kind, figures in parts]
    return ["", "per operation"] + _table(rows, text_columns=3)


def _faults(journal: dict) -> list[str]:
    if not journal["faults"]:
        return ["faults: none"]
    lines = ["faults (times from the start)"]
    for f in journal["faults"]:
        heal = "" if f["heal_ok"] or f["healed_at"] is None else ", heal FAILED"
        lines.append(f"  {f['id']} {f['type']} {f['target']}: injected "
                     f"{since_text(journal['started_at'], f['injected_at'])}, healed "
                     f"{since_text(journal['started_at'], f['healed_at'])}{heal}")
    return lines


def _checks(journal: dict, color: bool) -> list[str]:
    lines = ["checks"]
    width = max((len(c["name"]) for c in journal["checks"]), default=0)
    for c in journal["checks"]:
        word = _paint(c["verdict"].upper().ljust(7), c["verdict"], color)
        versus = f" vs {c['threshold']}" if c["threshold"] else ""
        lines.append(f"  {word} {c['name'].ljust(width)}  {figure_text(c, journal)}{versus}")
    return lines


def render_summary(journal: dict, color: bool) -> str:
    """A few dozen lines for the terminal; ANSI colors only if ``color``."""
    experiment = journal["experiment"]
    verdict = journal["verdict"]
    lines = [f"{experiment['name']} on {journal['stack']} (run {journal['run_id']}, "
             f"{journal['started_at']} .. {journal['finished_at']})",
             _paint(f"{verdict.upper()}: {one_line(journal)}", verdict, color, bold=True), ""]
    if journal.get(ABORTED):
        lines += [_paint(f"ABORTED: {journal[ABORTED]}", "fail", color, bold=True), ""]
    lines += _services(journal) + _operations(journal) + [""] + _faults(journal) + [""] + _checks(journal, color)
    if journal.get("clocks"):  # a master and workers: how well each worker's times are known
        lines += ["", "load workers' clocks (records placed on the harness's clock within ±bound)"]
        lines += [f"  {name}: ±{'unknown' if c.get('bound_s') is None else format(c['bound_s'] * 1000, '.3f') + ' ms'}"
                  for name, c in journal["clocks"].items()]
    if "participants" in journal or journal.get("notes"):
        lines += ["", "game day: " + (", ".join(journal.get("participants", ())) or "nobody named")]
        lines += [f"  {n['id']} {n['at']} {n['author'] or '-'}: {n['text']}" for n in journal.get("notes", ())]
    if journal["reasons"]:
        lines += ["", "reasons"] + [f"  - {r}" for r in journal["reasons"]]
    final = f"VERDICT: {verdict.upper()} (expected {journal['expected']})"
    lines += ["", _paint(final, verdict, color, bold=True)]
    return "\n".join(lines)
