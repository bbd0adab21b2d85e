"""The HTML report of one run: ``report.html`` in the run folder, one self-contained file (inline
style and SVG plots, no script, no outside address) that opens from a CI artifact offline.

It renders a journal and does not judge: every verdict, check and figure of a check comes from the
journal (the run folder's ``journal.json``, or the one its caller judged and hands over: ``chaos-harness
report`` judges a folder that has none). The rest comes from the saved run folder, read and checked by
``chaos.saved_run``: the history (per-second timelines, latency per phase), ``meta.json``
(environment), ``experiment.yaml`` (shown as run) and ``invariants.json`` (which checks are the
stack's invariants).

Sections: header (verdict, expected, experiment, stack, times; a game day's participants), reasons,
faults, a game day's notes (``<section id="notes">``), one timeline per service (``<figure
class="timeline" data-service="...">``, the notes marked on it), RTO / data loss / money, latency per
phase, RTO and availability per operation and per kind (``<section id="operations">``), every check,
the experiment as run, the environment. The columns of the figures' table are
the metrics of the registry (``chaos.checks.metrics``) that have one.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Sequence

from chaos import __version__
from chaos.checks import availability
from chaos.checks.metrics import METRICS, Metric
from chaos.checks.windows import FaultWindow, fault_windows, load_stopped
from chaos.errors import InvalidInput
from chaos.files import read_text, write_atomic
from chaos.history import MARK_LOAD_STARTED, History
from chaos.reports.journal import ABORTED, read_journal
from chaos.reports.page import badge, definitions, document, esc, table
from chaos.reports.summary import (figure_text, metric_columns, number_text, part_rows, percent_text,
                                   service_metric_text, since_text)
from chaos.reports.timeline import NoteMarker, timeline_svg, window_id
from chaos.run_folder import EXPERIMENT, JOURNAL, REPORT
from chaos.saved_run import read_run_folder

MAX_LOST_IDS = 20


def _duration(journal: dict) -> str:
    try:
        seconds = (datetime.fromisoformat(journal["finished_at"])
                   - datetime.fromisoformat(journal["started_at"])).total_seconds()
    except (TypeError, ValueError):
        return "n/a"
    return f"{seconds:.1f} s"


def _header(journal: dict) -> str:
    e, verdict = journal["experiment"], journal["verdict"]
    match = "matches" if journal["matches_expectation"] else "does NOT match"
    facts = [("stack", journal["stack"]), ("run", journal["run_id"]),
             ("started", journal["started_at"]), ("finished", journal["finished_at"]),
             ("duration", _duration(journal)), ("experiment file", e["file"]),
             ("tags", ", ".join(e["tags"]) or "none"),
             ("load", f"{e['load']['users']} users for {e['load']['duration_s']:g} s")]
    if journal.get(ABORTED):
        facts.append((ABORTED, journal[ABORTED]))
    if "participants" in journal:
        facts.append(("participants", ", ".join(journal["participants"]) or "nobody named"))
    return (f'<header class="verdict-{esc(verdict)}"><h1>{esc(e["name"])} on {esc(journal["stack"])}</h1>'
            f'<p class="verdict">Verdict {badge(verdict)} (expected {esc(journal["expected"])}): '
            f"{esc(match)} the expectation</p><p>{esc(e['description'])}</p>"
            f"{definitions(facts)}</header>")


def _reasons(journal: dict) -> str:
    if not journal["reasons"]:
        return ""
    items = "".join(f"<li>{esc(r)}</li>" for r in journal["reasons"])
    return f'<section id="reasons"><h2>Why it did not pass</h2><ul>{items}</ul></section>'


def _faults(journal: dict) -> str:
    start = journal["started_at"]
    rows = [(f["id"], f["type"], f["target"], f"{f['injected_at']} ({since_text(start, f['injected_at'])})",
             "never" if f["healed_at"] is None else f"{f['healed_at']} ({since_text(start, f['healed_at'])})",
             ("yes", "pass") if f["heal_ok"] else ("NO", "fail"))
            for f in journal["faults"]]
    body = table(("id", "type", "target", "injected", "healed", "heal ok"), rows) if rows else "<p>none</p>"
    return f'<section id="faults"><h2>Faults</h2>{body}</section>'


def _notes(journal: dict) -> str:
    """A game day's notes, as the journal lists them (nothing for a run that had none)."""
    if "notes" not in journal:
        return ""
    def since(t_s) -> str:
        return "before the load" if t_s is None or t_s < 0 else f"{t_s:.1f}"

    rows = [(n["id"], n["at"], (since(n["t_s"]), "num"), n["author"] or "", n["text"]) for n in journal["notes"]]
    body = (table(("note", "at (UTC)", "s since the load started", "by", "text"), rows, cls="notes")
            if rows else "<p>no note was taken</p>")
    return f'<section id="notes"><h2>Game-day notes</h2>{body}</section>'


def _span(history: History, windows: Sequence[FaultWindow]) -> tuple[float, float]:
    """The plots' time axis on the monotonic clock: load start (else the first record) to load stop
    (else the last record)."""
    times = [o.mono for o in history.ops] + [w.injected for w in windows] + [m.mono for m in history.marks]
    started, stopped = history.mark(MARK_LOAD_STARTED), load_stopped(history)
    t0 = started.mono if started else min(times, default=0.0)
    end = stopped if stopped is not None else max([*times, *(w.end for w in windows)], default=t0)
    return t0, max(end, t0 + 1.0)


def _timelines(journal: dict, history: History, windows: Sequence[FaultWindow]) -> str:
    t0, end = _span(history, windows)
    notes = [NoteMarker(f"n{i}", n.mono, n.text) for i, n in enumerate(history.notes, 1)]
    marked = f"; dashed blue: the notes ({', '.join(n.id for n in notes)})" if notes else ""
    parts = []
    for service in journal["services"]:
        ops = [o for o in history.ops if o.service == service]
        shaded = ", ".join(f"{w.id} {w.type} {w.target} from {w.injected - t0:.1f} s to "
                           + (f"{w.healed - t0:.1f} s" if w.healed is not None else "the end (never healed)")
                           for w in windows) or "no fault"
        ids = " ".join(window_id(w.id, service) for w in windows)
        parts.append(f'<figure class="timeline" data-service="{esc(service)}" data-fault-windows="{esc(ids)}">'
                     f"{timeline_svg(service, ops, windows, t0, end, notes)}"
                     f"<figcaption>{esc(service)}: ok (green) and failed + unknown (red) requests per "
                     f"second; shaded: {esc(shaded)}{esc(marked)}"
                     f"{esc(_rto_caption(journal['services'][service]))}</figcaption></figure>")
    return f'<section id="timelines"><h2>Requests per second</h2>{"".join(parts)}</section>'


def _lost_ids(ids: list | None) -> str:
    if ids is None:
        return "n/a"
    if not ids:
        return "none"
    shown = ", ".join(ids[:MAX_LOST_IDS])
    return shown + (f" ... and {len(ids) - MAX_LOST_IDS} more" if len(ids) > MAX_LOST_IDS else "")


def _num(value, none: str = "n/a") -> tuple[str, str]:
    """A right-aligned number cell."""
    return number_text(value, none), "num"


def _metric_cell(metric: Metric, figures: dict) -> tuple[str, str]:
    """A metric's figure in a journal's service (or part of one) as a right-aligned cell, marked as
    bad for an alarm metric above 0."""
    value = figures.get(metric.name)
    return service_metric_text(metric, figures), "num fail" if metric.alarm and value else "num"


def _outcomes(journal: dict, invariant_names: set[str]) -> str:
    """Every service's figures, one column per metric of the registry that has one."""
    columns = metric_columns(journal, lambda m: m.heading)
    rows = [(name, *(_metric_cell(m, s) for m, _ in columns), _lost_ids(s["lost_ids"]))
            for name, s in journal["services"].items()]
    parts = [table(("service", *(heading for _, heading in columns), "lost ids"), rows)]
    invariants = [(c["name"], (c["verdict"], c["verdict"]), figure_text(c), c["threshold"] or "",
                   c["detail"]) for c in journal["checks"] if c["name"] in invariant_names]
    if invariants:
        parts.append("<h3>Invariants after the run (money, steady state)</h3>"
                     + table(("invariant", "verdict", "figure", "threshold", "detail"), invariants))
    return f'<section id="outcomes"><h2>RTO, data loss and money</h2>{"".join(parts)}</section>'


def _operations(journal: dict) -> str:
    """Per service, one table of its figures per operation and per kind (from the journal's
    ``operations`` and ``kinds``): which operations came back in seconds, which waited."""
    columns = metric_columns(journal, lambda m: m.heading)
    parts = []
    for service in journal["services"]:
        rows = [(op, kind, *(_metric_cell(m, figures) for m, _ in columns))
                for name, op, kind, figures in part_rows(journal) if name == service]
        if rows:
            parts.append(f'<h3>{esc(service)}</h3><div class="operations" data-service="{esc(service)}">'
                         f'{table(("operation", "kind", *(h for _, h in columns)), rows)}</div>')
    if not parts:
        return ""
    return (f'<section id="operations"><h2>RTO and availability per operation</h2>{"".join(parts)}'
            "<p>Each operation's figures are measured as its service's are, from that operation's requests "
            "alone (an RTO ends at the first of N of its own successes in a row); (all reads) and "
            "(all writes) split the service by kind: a request that carries a write_id is a write. "
            "unknown: no request of it inside a fault's window.</p></section>")


def _rto_caption(service: dict) -> str:
    """``; RTO per operation: create 24.9 s, list 2.1 s`` from a journal's service, or ""."""
    rto = METRICS.get("rto_s")
    ops = service.get("operations") or {}
    if rto is None or not ops:
        return ""
    figures = ", ".join(f"{op} {service_metric_text(rto, f)}" + (" s" if f.get("rto_s") is not None else "")
                        for op, f in ops.items())
    return f"; RTO per operation: {figures}"


def _latency(journal: dict, history: History, windows: Sequence[FaultWindow]) -> str:
    stopped = load_stopped(history)
    rows = []
    for service, s in journal["services"].items():
        ops = [o for o in history.ops if o.service == service]
        latency = availability.latency_by_phase(ops, windows, stopped)
        for phase in availability.PHASES:
            counts = s["availability_by_phase"].get(phase, {})
            rows.append((service, phase, _num(counts.get("requests")),
                         (percent_text(counts.get("availability")), "num"),
                         *(_num(latency[phase][f"p{p}"]) for p in availability.PERCENTILES)))
    headers = ("service", "phase", "requests", "availability %",
               *(f"p{p} ms" for p in availability.PERCENTILES))
    return (f'<section id="latency"><h2>Latency per phase (ok requests)</h2>{table(headers, rows)}'
            "<p>steady: before the first fault; fault: inside a fault window; after_heal: from the "
            "last heal to the end of the load.</p></section>")


def _checks(journal: dict) -> str:
    rows = [(c["name"], (c["verdict"], c["verdict"]), (figure_text(c), "num"), c["threshold"] or "",
             c["service"] or "", c["detail"]) for c in journal["checks"]]
    return (f'<section id="checks"><h2>Checks</h2>'
            f'{table(("check", "verdict", "figure", "threshold", "service", "detail"), rows)}</section>')


def _experiment(text: str) -> str:
    return f'<section id="experiment"><h2>The experiment as run</h2><pre>{esc(text)}</pre></section>'


def _environment(environment: dict) -> str:
    rows = [(k, json.dumps(v) if isinstance(v, (dict, list)) else number_text(v, "unknown"))
            for k, v in environment.items()]
    return f'<section id="environment"><h2>Environment</h2>{table(("what", "value"), rows)}</section>'


def build_html(journal: dict, history: History, experiment_text: str, environment: dict,
               invariant_names: set[str]) -> str:
    """The report page of one run (see the module's docstring)."""
    windows = fault_windows(history)
    body = "\n".join((_header(journal), _reasons(journal), _faults(journal), _notes(journal),
                      _timelines(journal, history, windows), _outcomes(journal, invariant_names),
                      _operations(journal),
                      _latency(journal, history, windows), _checks(journal),
                      _experiment(experiment_text), _environment(environment),
                      f"<footer>chaos-harness {esc(__version__)}, journal schema "
                      f"{esc(journal['schema'])}</footer>"))
    return document(f"{journal['verdict'].upper()}: {journal['experiment']['name']} on "
                    f"{journal['stack']}", body)


def render_html(run_dir: Path, journal: dict | None = None) -> Path:
    """Write ``report.html`` into the run folder ``run_dir`` and return its path.

    ``journal``: the run's judgement, by default the folder's ``journal.json``. A folder never
    judged has none: its caller judges it (``chaos.analyze.judge_run``) and passes the journal;
    without one, InvalidInput saying so."""
    folder = read_run_folder(run_dir)  # every file checked: a damaged folder is invalid input
    if journal is None:
        if not os.path.lexists(folder.path / JOURNAL):
            raise InvalidInput(f"{folder.path}: no {JOURNAL}: the run was never judged; "
                               f"chaos-harness report {folder.path} judges it first")
        journal = read_journal(folder.path)
    experiment = folder.path / EXPERIMENT
    page = build_html(journal, folder.history,
                      read_text(experiment) if os.path.lexists(experiment) else f"({EXPERIMENT} missing)",
                      folder.meta.get("environment", {}), set(folder.invariants or ()))
    return write_atomic(folder.path / REPORT, page)
