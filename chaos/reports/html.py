"""The HTML report of one run: ``report.html`` in the run folder, one self-contained file (inline
style and SVG plots, no script, no outside address) that opens from a CI artifact offline.

It renders a journal and does not judge: every verdict, check and figure of a check comes from the
journal (the run folder's ``journal.json``, or the one its caller judged and hands over: ``chaos-harness
report`` judges a folder that has none). The rest comes from the saved run folder, read and checked by
``chaos.saved_run``: the history (per-second timelines, latency per phase), ``meta.json``
(environment), ``experiment.yaml`` (shown as run) and ``invariants.json`` (which checks are the
stack's invariants).

Sections: header (verdict, expected, the result in one line (``<p class="story">``, from
``chaos.reports.story``), experiment, stack, times; a game day's participants), reasons, faults, a
game day's notes (``<section id="notes">``), one timeline per service (``<figure class="timeline"
data-service="...">``: ok, failed and unknown requests, the fault windows, the service's outage and
the moment it was back, its lost and timed-out writes, the notes), RTO / data loss / money (what
each column means below it), the lost and timed-out writes, each id once (``<section
id="writes">``), latency per phase, RTO and availability per operation and per kind
(``<section id="operations">``), every check, the experiment as run, the provenance (the
harness's version and commit, the stack's files, where the primary and the leader were before the
first fault: ``chaos.provenance``, kept in meta.json's environment), the environment. The columns
of the figures' table are the metrics of the registry (``chaos.checks.metrics``) that have one.
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Sequence

from chaos import __version__
from chaos.checks import availability
from chaos.checks.data_loss import classify
from chaos.checks.metrics import METRICS, Metric
from chaos.checks.windows import FaultWindow, fault_windows, load_stopped
from chaos.errors import InvalidInput
from chaos.files import read_text, write_atomic
from chaos.history import MARK_LOAD_STARTED, History, Op
from chaos.reports.journal import ABORTED, read_journal
from chaos.reports.page import badge, definitions, document, esc, table
from chaos.reports.story import back_at, first_fault_at, one_line, rto_text, seconds_text, time_text
from chaos.reports.summary import (figure_text, metric_columns, number_text, part_rows, percent_text,
                                   service_metric_text, service_text, since_text)
from chaos.reports.timeline import NoteMarker, OutageMarker, WriteMarker, timeline_svg, window_id
from chaos.provenance import PROVENANCE
from chaos.run_folder import EXPERIMENT, JOURNAL, REPORT
from chaos.saved_run import read_run_folder

MAX_LOST_IDS = 20  # ids of one service and one kind (lost, timed out) listed in the writes section


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
            f"{esc(match)} the expectation</p><p class=\"story\">{esc(one_line(journal))}</p>"
            f"<p>{esc(e['description'])}</p>"
            f"{definitions(facts)}</header>")


_IDS = re.compile(r" \(ids: [^)]*\)")


def _ids_once(text: str) -> str:
    """A check's words without the lost writes' ids (``(ids: a, b)``): the report lists each id
    once, in its writes section, with when it was sent."""
    return _IDS.sub(" (ids under Lost and timed-out writes)", text)


def _reasons(journal: dict) -> str:
    if not journal["reasons"]:
        return ""
    items = "".join(f"<li>{esc(_ids_once(r))}</li>" for r in journal["reasons"])
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


def _outage(journal: dict, service: dict, windows: Sequence[FaultWindow]) -> tuple[OutageMarker | None, str]:
    """The service's outage on the plot's clock, from the journal's ``outage_began_s`` and
    ``back_s`` (seconds after the first fault's injection), and its words for the caption; the
    words give times as the faults' table does, after the run's start (``chaos.reports.story``)."""
    began, back = service.get("outage_began_s"), service.get("back_s")
    if not windows or began is None:
        if "outage_began_s" not in service:
            return None, "; the outage is not marked: this journal predates the outage's figures"
        return None, "; no outage (no request failed inside a fault window)" if windows else ""
    origin, since_start = windows[0].injected, first_fault_at(journal)
    first = ("; hatched red: the outage, from the first failure "
             + (f"at +{seconds_text(since_start + began)} s" if since_start is not None
                else f"{seconds_text(began)} s after the first fault"))
    if back is None:
        return OutageMarker(origin + began, None), f"{first} to the end (not back before the load ended)"
    rto, at = service.get("rto_s"), back_at(journal, service)
    if rto is not None:
        label = (f"back at +{seconds_text(at)} s (RTO {time_text(journal, rto)} s)" if at is not None
                 else f"back (RTO {time_text(journal, rto)} s)")
    else:
        label = f"back {rto_text(journal, service)}" if at is not None else "back only after the heal"
    return (OutageMarker(origin + began, origin + back, label),
            f"{first} to {label} (green line; an RTO counts from the fault's injection)")


def _timed_out(ops: Sequence[Op]) -> dict[str, Op]:
    """The writes whose outcome stayed unknown (never acknowledged), each id at its first timeout."""
    _, maybe, _ = classify(ops)
    found: dict[str, Op] = {}
    for o in ops:
        if o.write_id in maybe and o.write_id not in found and not o.ok:
            found[o.write_id] = o
    return found


def _lost(ops: Sequence[Op], lost_ids: list | None) -> dict[str, Op]:
    """The journal's lost writes, each id at the request the system acknowledged."""
    lost = set(lost_ids or ())
    found: dict[str, Op] = {}
    for o in ops:
        if o.write_id in lost and o.ok and o.write_id not in found:
            found[o.write_id] = o
    return found


def _write_markers(ops: Sequence[Op], service: dict) -> list[WriteMarker]:
    return ([WriteMarker(o.mono, i, "lost") for i, o in _lost(ops, service["lost_ids"]).items()]
            + [WriteMarker(o.mono, i, "unknown") for i, o in _timed_out(ops).items()])


def _timelines(journal: dict, history: History, windows: Sequence[FaultWindow]) -> str:
    t0, end = _span(history, windows)
    notes = [NoteMarker(f"n{i}", n.mono, n.text) for i, n in enumerate(history.notes, 1)]
    marked = f"; dashed blue: the notes ({', '.join(n.id for n in notes)})" if notes else ""
    parts = []
    for service, figures in journal["services"].items():
        ops = [o for o in history.ops if o.service == service]
        shaded = ", ".join(f"{w.id} {w.type} {w.target} from {w.injected - t0:.1f} s to "
                           + (f"{w.healed - t0:.1f} s" if w.healed is not None else "the end (never healed)")
                           for w in windows) or "no fault"
        ids = " ".join(window_id(w.id, service) for w in windows)
        outage, outage_words = _outage(journal, figures, windows)
        writes = _write_markers(ops, figures)
        written = "".join(f"; {what}: {sum(w.what == kind for w in writes)}" for kind, what in
                          (("lost", "red crosses, lost writes"), ("unknown", "orange ticks, timed-out writes"))
                          if any(w.what == kind for w in writes))
        parts.append(f'<figure class="timeline" data-service="{esc(service)}" data-fault-windows="{esc(ids)}">'
                     f"{timeline_svg(service, ops, windows, t0, end, notes, outage, writes)}"
                     f"<figcaption>{esc(service)}: ok (green), failed (red) and unknown (orange: timed out, "
                     f"outcome unknown) requests per second; shaded yellow: the fault window, {esc(shaded)}"
                     f"{esc(outage_words)}{esc(written)}{esc(marked)}"
                     f"{esc(_rto_caption(journal['services'][service]))}</figcaption></figure>")
    return (f'<section id="timelines"><h2>Requests per second</h2><p>Seconds since the load started. '
            f"The fault window is when the fault acted; the outage is what a service's users saw: from "
            f"its first failed request to the moment it was back.</p>{''.join(parts)}</section>")


def _writes(journal: dict, history: History) -> str:
    """Every lost and timed-out write, each id once, with when it was sent."""
    started = history.mark(MARK_LOAD_STARTED)
    t0 = started.mono if started else min((o.mono for o in history.ops), default=0.0)
    rows, more = [], []
    for service, figures in journal["services"].items():
        ops = [o for o in history.ops if o.service == service]
        for what, found in (("lost (acknowledged, not read back)", _lost(ops, figures["lost_ids"])),
                            ("timed out (outcome unknown)", _timed_out(ops))):
            items = sorted(found.items(), key=lambda item: item[1].mono)
            rows += [(service, wid, what, o.op, (f"{o.mono - t0:.1f}", "num")) for wid, o in items[:MAX_LOST_IDS]]
            if len(items) > MAX_LOST_IDS:
                more.append(f"{service}: {len(items) - MAX_LOST_IDS} more {what.split(' ')[0]}")
    if not rows:
        return ""
    tail = f"<p>Not listed: {esc('; '.join(more))}.</p>" if more else ""
    return (f'<section id="writes"><h2>Lost and timed-out writes</h2>'
            f'{table(("service", "write id", "what", "operation", "sent (s since the load started)"), rows)}{tail}'
            "<p>A timed-out write is never counted as lost: the read-back decides whether it happened "
            "(the recovered column above counts those it found).</p></section>")


def _num(value, none: str = "n/a") -> tuple[str, str]:
    """A right-aligned number cell."""
    return number_text(value, none), "num"


def _metric_cell(metric: Metric, journal: dict, figures: dict, part: bool = False) -> tuple[str, str]:
    """A metric's figure in a journal's service (or, with ``part``, in one of its operations or kinds)
    as a right-aligned cell, marked as bad for an alarm metric above 0."""
    value = figures.get(metric.name)
    text = service_metric_text(metric, figures) if part else service_text(metric, journal, figures)
    return text, "num fail" if metric.alarm and value else "num"


def _outcomes(journal: dict, invariant_names: set[str]) -> str:
    """Every service's figures, one column per metric of the registry that has one, each column
    explained by its metric's doc."""
    columns = metric_columns(journal, lambda m: m.heading)
    rows = [(name, *(_metric_cell(m, journal, s) for m, _ in columns))
            for name, s in journal["services"].items()]
    parts = [table(("service", *(heading for _, heading in columns)), rows), _columns_explained(columns)]
    invariants = [(c["name"], (c["verdict"], c["verdict"]), figure_text(c, journal), c["threshold"] or "",
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
        rows = [(op, kind, *(_metric_cell(m, journal, figures, part=True) for m, _ in columns))
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


def _columns_explained(columns: list[tuple[Metric, str]]) -> str:
    """What each column of the figures' table means: its metric's doc (the registry's words)."""
    pairs = [(heading, m.doc) for m, heading in columns]
    rto = METRICS.get("rto_s")
    if rto is not None and any(m is rto for m, _ in columns):
        pairs.append(("only after the heal", "in the RTO column: the service did not recover while the "
                      "fault lasted, and was back only once it was healed (at +X s after the run's start)"))
    return f'<details class="columns" open><summary>What the columns mean</summary>{definitions(pairs)}</details>'


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
    rows = [(c["name"], (c["verdict"], c["verdict"]), (figure_text(c, journal), "num"), c["threshold"] or "",
             c["service"] or "", _ids_once(c["detail"])) for c in journal["checks"]]
    return (f'<section id="checks"><h2>Checks</h2>'
            f'{table(("check", "verdict", "figure", "threshold", "service", "detail"), rows)}</section>')


def _experiment(text: str) -> str:
    return f'<section id="experiment"><h2>The experiment as run</h2><pre>{esc(text)}</pre></section>'


def _provenance(environment: dict) -> str:
    """Where the run came from: the harness's version and commit, the stack's files, and what the
    stack said of its layout before the first fault (``chaos.provenance``)."""
    found = environment.get(PROVENANCE)
    if not isinstance(found, dict):
        body = ("<p>Not recorded: this run folder was written before the harness kept its provenance "
                "(meta.json has none), so its code version and the stack's layout before the fault are "
                "unknown.</p>")
    else:
        rows = []
        for key, value in found.items():
            if isinstance(value, dict):
                rows += [(f"{key}: {k}", v if isinstance(v, str) else json.dumps(v)) for k, v in value.items()]
            else:
                rows.append((key, value if isinstance(value, str) else json.dumps(value)))
        body = table(("what", "value"), rows)
    return f'<section id="provenance"><h2>Provenance</h2>{body}</section>'


def _environment(environment: dict) -> str:
    rows = [(k, json.dumps(v) if isinstance(v, (dict, list)) else number_text(v, "unknown"))
            for k, v in environment.items() if k != PROVENANCE]
    return f'<section id="environment"><h2>Environment</h2>{table(("what", "value"), rows)}</section>'


def build_html(journal: dict, history: History, experiment_text: str, environment: dict,
               invariant_names: set[str]) -> str:
    """The report page of one run (see the module's docstring)."""
    windows = fault_windows(history)
    body = "\n".join((_header(journal), _reasons(journal), _faults(journal), _notes(journal),
                      _timelines(journal, history, windows), _outcomes(journal, invariant_names),
                      _operations(journal),
                      _writes(journal, history),
                      _latency(journal, history, windows), _checks(journal),
                      _experiment(experiment_text), _provenance(environment), _environment(environment),
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
