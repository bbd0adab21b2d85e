"""The run journal: ``journal.json`` in the run folder, the contract outside tools parse.

Shape (schema ``chaos-harness/journal/1``; keys are fixed, times are ISO 8601 UTC)::

    {"schema", "run_id", "verdict": "pass|fail|unknown", "expected": "pass|fail",
     "matches_expectation": bool,
     "aborted": str (only when the run was stopped early: an abort_if condition or a game day's
                facilitator, and why),
     "participants": [str] (game days: who took part, the facilitator first),
     "clocks": {worker: {"offset_s": float|null, "bound_s": float|null}} (a Locust master and
                workers: each worker's clock against the harness's and the bound within which its
                requests are placed; no time of the run is known finer than the largest bound),
     "notes": [{"id": "n1", "at": ISO time, "t_s": seconds since the load started (null if it
                never started; negative before it), "author": str|null, "text": str}]
              (game days: the facilitator's typed notes, in the order they were entered),
     "experiment": {"name", "description", "file", "tags", "load": {...}},
     "stack", "started_at", "finished_at",
     "faults": [{"id", "type", "target", "injected_at", "healed_at" (null if never), "heal_ok"}],
     "services": {name: {"requests", "ok", "failed", "unknown", "availability", "rto_s",
                         "acked_writes", "lost_writes", "unknown_writes", "recovered_writes",
                         "duplicate_writes", "lost_ids", "latency_ms", "availability_by_phase",
                         and one key per metric added since,
                         "missing": {metric: why it has no figure},
                         "operations": {op: {"kind": "read|write"|null, the same figures}},
                         "kinds": {"read"|"write": {the same figures}}}},
     "checks": [{"name", "verdict", "figure", "threshold", "service", "detail"}],
     "reasons": [str], "environment": {...}}

Optional keys (present only when they apply): ``aborted``; ``clocks`` (runs with load workers);
``participants`` and ``notes`` (both, in every game day's journal, and in any journal whose history holds notes). A service's ``missing``,
``operations`` and ``kinds`` are written always and checked when present (journals written before
them still read): ``operations`` and ``kinds`` hold each operation's and each kind's figures,
measured as the service's are, from that part's requests alone.

A service's metric keys come from the metric registry (``chaos.checks.metrics``): those marked
``KEY`` are the fixed keys above, in that order; a metric added since (``ADDED``) is written too,
and checked only when present, so a journal written before it was added still reads.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from chaos.checks.clocks import worker_clocks
from chaos.checks.metrics import ADDED, KEY, METRICS
from chaos.checks.windows import fault_windows
from chaos.errors import InvalidInput
from chaos.experiment import Experiment
from chaos.files import read_json, refuse, shown, write_atomic
from chaos.history import MARK_ABORTED, MARK_LOAD_STARTED, History
from chaos.run_folder import JOURNAL

if TYPE_CHECKING:  # a journal is built from a judgement; the reports never judge
    from chaos.checks.judge import Judgement

SCHEMA = "chaos-harness/journal/1"
VERDICTS = ("pass", "fail", "unknown")
ABORTED = "aborted"  # the journal's key for a run stopped early (its schema's word, not the history's mark)

_NULLABLE_NUMBER = (int, float, type(None))
_TOP = {"schema": str, "run_id": str, "verdict": str, "expected": str, "matches_expectation": bool,
        "experiment": dict, "stack": str, "started_at": str, "finished_at": str, "faults": list,
        "services": dict, "checks": list, "reasons": list, "environment": dict}
_OPTIONAL = {ABORTED: str, "participants": list, "notes": list, "clocks": dict}
_EXPERIMENT = {"name": str, "description": str, "file": str, "tags": list, "load": dict}
_NUMBER = (int, float)
_LOAD = {"users": _NUMBER, "spawn_rate": _NUMBER, "duration_s": _NUMBER, "mix": dict}
_PHASE = {"requests": _NULLABLE_NUMBER, "availability": _NULLABLE_NUMBER}
_FAULT = {"id": str, "type": str, "target": str, "injected_at": str,
          "healed_at": (str, type(None)), "heal_ok": bool}
_DETAILS = {"lost_ids": (list, type(None)), "latency_ms": dict, "availability_by_phase": dict}
_ADDED_DETAILS = {"missing": dict}
_PARTS = ("operations", "kinds")
_NOTE = {"id": str, "at": str, "t_s": _NULLABLE_NUMBER, "author": (str, type(None)), "text": str}
_CHECK = {"name": str, "verdict": str, "figure": _NULLABLE_NUMBER, "threshold": (str, type(None)),
          "service": (str, type(None)), "detail": str}


def _service_keys(where: str) -> dict:
    """The metric keys of a journal's service that the registry places ``where`` (KEY or ADDED)."""
    return {m.name: _NULLABLE_NUMBER for m in METRICS.values() if m.journal == where}


def iso_utc(wall: float) -> str:
    """A wall-clock time (seconds since the epoch) as ISO 8601 UTC, e.g. 2024-05-01T06:19:00.250Z."""
    stamp = datetime.fromtimestamp(wall, timezone.utc).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


def journal_notes(history: History) -> list[dict]:
    """The history's notes as the journal lists them: ``n1``, ``n2``... in the order entered, each
    with its wall time and its offset from the load's start."""
    started = history.mark(MARK_LOAD_STARTED)
    return [{"id": f"n{i}", "at": iso_utc(n.wall),
             "t_s": None if started is None else round(n.mono - started.mono, 3),
             "author": n.author, "text": n.text}
            for i, n in enumerate(history.notes, 1)]


def build_journal(experiment: Experiment, judgement: Judgement, *, stack: str, started_at: str,
                  finished_at: str, history: History, run_id: str, environment: dict,
                  participants: list[str] | None = None) -> dict:
    """The journal of one judged run (see the module's docstring for its shape).

    ``participants``: who took part in a game day (None: not a game day)."""
    load = experiment.load
    aborted = history.mark(MARK_ABORTED)
    gameday = {}
    if participants is not None or history.notes:
        gameday = {"participants": list(participants or ()), "notes": journal_notes(history)}
    return {
        "schema": SCHEMA,
        "run_id": run_id,
        "verdict": judgement.verdict.value,
        "expected": experiment.expect,
        "matches_expectation": judgement.verdict.value == experiment.expect,
        **({ABORTED: aborted.detail or "no reason recorded"} if aborted else {}),
        **gameday,
        **({"clocks": clocks} if (clocks := worker_clocks(history)) else {}),
        "experiment": {"name": experiment.name, "description": experiment.description,
                       "file": experiment.source, "tags": list(experiment.tags),
                       "load": {"users": load.users, "spawn_rate": load.spawn_rate,
                                "duration_s": load.duration_s, "mix": dict(load.mix)}},
        "stack": stack,
        "started_at": started_at,
        "finished_at": finished_at,
        "faults": [{"id": w.id, "type": w.type, "target": w.target,
                    "injected_at": iso_utc(w.injected_wall),
                    "healed_at": None if w.healed_wall is None else iso_utc(w.healed_wall),
                    "heal_ok": w.heal_ok}
                   for w in fault_windows(history)],
        "services": {name: f.to_dict() for name, f in judgement.services.items()},
        "checks": [c.to_dict() for c in judgement.checks],
        "reasons": list(judgement.reasons),
        "environment": dict(environment),
    }


def write_journal(run_dir: Path, journal: dict) -> Path:
    """Write ``run_dir/journal.json`` atomically, never through a symlink (``chaos.files``)."""
    return write_atomic(Path(run_dir) / JOURNAL, json.dumps(journal, indent=2, ensure_ascii=False) + "\n")


def read_journal(path: Path) -> dict:
    """Read a journal from its file or from the run folder holding it; InvalidInput naming the file
    and what is wrong if it is not one (not JSON, or not the shape ``validate_journal_shape`` checks),
    so nothing renders a damaged journal."""
    path = Path(path)
    if path.is_dir():
        path = path / JOURNAL
    if not os.path.lexists(path):
        raise InvalidInput(f"{path}: no journal here")
    journal = read_json(path)
    refuse(path, validate_journal_shape(journal))
    return journal


def _type_names(expected) -> str:
    kinds = expected if isinstance(expected, tuple) else (expected,)
    return " or ".join("null" if k is type(None) else k.__name__ for k in kinds)


def _check_keys(obj: dict, spec: dict, where: str) -> list[str]:
    problems = []
    for key, expected in spec.items():
        path = f"{where}.{key}" if where else key
        if key not in obj:
            problems.append(f"{path}: missing")
        elif isinstance(obj[key], bool) and bool not in (expected if isinstance(expected, tuple)
                                                         else (expected,)):
            problems.append(f"{path}: expected {_type_names(expected)}, got bool")
        elif not isinstance(obj[key], expected):
            problems.append(f"{path}: expected {_type_names(expected)}, "
                            f"got {type(obj[key]).__name__}")
    return problems


def _check_list(items: list, spec: dict, where: str) -> list[str]:
    problems = []
    for i, item in enumerate(items):
        if isinstance(item, dict):
            problems += _check_keys(item, spec, f"{where}[{i}]")
        else:
            problems.append(f"{where}[{i}]: expected object, got {type(item).__name__}")
    return problems


def _not_strings(items: list, where: str) -> list[str]:
    """A problem for each item of ``items`` that is not a string."""
    return [f"{where}[{i}]: expected str, got {type(v).__name__}" for i, v in enumerate(items) if not isinstance(v, str)]


def _service_problems(service, where: str) -> list[str]:
    """What is missing or mistyped in the figures of a service (or of a part of one)."""
    if not isinstance(service, dict):
        return [f"{where}: expected object, got {type(service).__name__}"]
    problems = _check_keys(service, {**_service_keys(KEY), **_DETAILS}, where)
    problems += _check_keys(service, {k: t for k, t in {**_service_keys(ADDED), **_ADDED_DETAILS}.items()
                                      if k in service}, where)
    if isinstance(service.get("lost_ids"), list):
        problems += _not_strings(service["lost_ids"], f"{where}.lost_ids")
    if isinstance(service.get("missing"), dict):
        problems += [f"{where}.missing.{shown(m)}: expected str, got {type(w).__name__}"
                     for m, w in service["missing"].items() if not isinstance(w, str)]
    if isinstance(service.get("availability_by_phase"), dict):
        for phase, counts in service["availability_by_phase"].items():
            at = f"{where}.availability_by_phase.{shown(phase)}"
            if isinstance(counts, dict):
                problems += _check_keys(counts, {k: t for k, t in _PHASE.items() if k in counts}, at)
            else:
                problems.append(f"{at}: expected object, got {type(counts).__name__}")
    return problems


def validate_journal_shape(journal: dict) -> list[str]:
    """What is missing or mistyped in ``journal``, one line each; empty if its shape is right.

    Extra keys are allowed (newer writers may add some)."""
    if not isinstance(journal, dict):
        return [f"journal: expected object, got {type(journal).__name__}"]
    problems = _check_keys(journal, _TOP, "")
    problems += _check_keys(journal, {k: t for k, t in _OPTIONAL.items() if k in journal}, "")
    if journal.get("schema", SCHEMA) != SCHEMA:
        problems.append(f"schema: expected {SCHEMA!r}, got {journal['schema']!r}")
    for key, allowed in (("verdict", VERDICTS), ("expected", ("pass", "fail"))):
        if isinstance(journal.get(key), str) and journal[key] not in allowed:
            problems.append(f"{key}: expected one of {', '.join(allowed)}, got {journal[key]!r}")
    experiment = journal.get("experiment")
    if isinstance(experiment, dict):
        problems += _check_keys(experiment, _EXPERIMENT, "experiment")
        if isinstance(experiment.get("load"), dict):
            problems += _check_keys(experiment["load"], _LOAD, "experiment.load")
        if isinstance(experiment.get("tags"), list):
            problems += _not_strings(experiment["tags"], "experiment.tags")
    if isinstance(journal.get("faults"), list):
        problems += _check_list(journal["faults"], _FAULT, "faults")
    if isinstance(journal.get("services"), dict):
        for name, service in journal["services"].items():
            where = f"services.{shown(name)}"
            problems += _service_problems(service, where)
            if not isinstance(service, dict):
                continue
            for key in _PARTS:
                if key not in service:
                    continue
                if not isinstance(service[key], dict):
                    problems.append(f"{where}.{key}: expected object, got {type(service[key]).__name__}")
                    continue
                for part, figures in service[key].items():
                    at = f"{where}.{key}.{shown(part)}"
                    problems += _service_problems(figures, at)
                    if key == "operations" and isinstance(figures, dict):
                        problems += _check_keys(figures, {"kind": (str, type(None))}, at)
    if isinstance(journal.get("checks"), list):
        problems += _check_list(journal["checks"], _CHECK, "checks")
        problems += [f"checks[{i}].verdict: expected one of {', '.join(VERDICTS)}, got {c['verdict']!r}"
                     for i, c in enumerate(journal["checks"])
                     if isinstance(c, dict) and isinstance(c.get("verdict"), str)
                     and c["verdict"] not in VERDICTS]
    if isinstance(journal.get("notes"), list):
        problems += _check_list(journal["notes"], _NOTE, "notes")
    if isinstance(journal.get("participants"), list):
        problems += _not_strings(journal["participants"], "participants")
    if isinstance(journal.get("reasons"), list):
        problems += _not_strings(journal["reasons"], "reasons")
    return problems
