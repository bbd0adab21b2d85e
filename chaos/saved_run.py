"""A saved run folder, read and checked, never judged: what ``chaos.analyze`` judges and what the
HTML report draws its timelines from (the report does not judge, so it reads the folder here).

A run folder (its files are named in ``chaos.run_folder``) holds ``experiment.yaml`` (the file as
run), ``meta.json`` (stack, times, services, environment; a game day's participants),
``history/*.jsonl``, ``readback.json`` (what the system returned when read back; absent if
read-back could not run), ``invariants.json`` (what the stack says of its own invariants after the
run, e.g. money conserved) and, after judging, ``journal.json``.

A run folder is evidence and may have been damaged: ``read_run_folder`` checks the shape of every
file (the history in ``chaos.history``, the journal in ``chaos.reports.journal``) and refuses a
damaged one as invalid input (exit 2) naming the file, and the line where the file has lines, never
a crash and never a judgement of what is left. Shapes (extra keys are allowed)::

    meta.json        {"run_id": str, "stack": str, "services": [str], "started_at": str,
                      "finished_at": str, "experiment_file"?: str, "environment"?: {...},
                      "participants"?: [str] | null,
                      "operations"?: {service: {op: "read" | "write"}} (the stack's declaration)}
    readback.json    {service: {write id: whole number >= 0 (copies held)}}
    invariants.json  {name: {"kind"?: str, "detail"?: str, ...the kind's figures}}: every kind and
                     its figures in ``chaos.checks.invariants`` (``equals``, ``zero``, ``holds``;
                     an entry without ``kind`` is a ``holds``, as every entry of a run folder
                     written before kinds existed: such a folder is still read, and its
                     invariants judged as the booleans it stored)
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from chaos import history as history_mod
from chaos.checks import invariants as invariants_mod
from chaos.errors import InvalidInput
from chaos.files import json_type, read_json, refuse, shown
from chaos.history import History
from chaos.run_folder import INVARIANTS, META, OP_KINDS, READBACK


@dataclass(frozen=True)
class RunFolder:
    """A run folder read and checked: every file but the experiment (``judge_run`` loads that one;
    a report shows it as text, so a report of an old run survives a stricter loader)."""

    path: Path
    meta: dict
    history: History
    readback: dict | None  # None: no read-back was done
    invariants: dict | None  # None: the stack reported none


def _is_str(v) -> bool:
    return isinstance(v, str)


def _is_count(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _is_finite(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _meta_problems(meta: dict) -> list[str]:
    problems = []
    required = {"run_id": _is_str, "stack": _is_str, "started_at": _is_str, "finished_at": _is_str}
    optional = {"experiment_file": _is_str, "environment": lambda v: isinstance(v, dict)}
    for key, ok in (*required.items(), *optional.items()):
        if key not in meta:
            if key in required:
                problems.append(f"{key}: missing")
        elif not ok(meta[key]):
            want = "an object" if key == "environment" else "a string"
            problems.append(f"{key}: expected {want}, got {json_type(meta[key])}")
    operations = meta.get("operations", {})
    if not isinstance(operations, dict):
        problems.append(f"operations: expected an object, got {json_type(operations)}")
    else:
        for service, ops in operations.items():
            if not isinstance(ops, dict):
                problems.append(f"operations.{shown(service)}: expected an object, got {json_type(ops)}")
                continue
            problems += [f"operations.{shown(service)}.{shown(op)}: expected one of {', '.join(OP_KINDS)}, got "
                         + (repr(kind) if isinstance(kind, str) else json_type(kind))
                         for op, kind in ops.items() if kind not in OP_KINDS]
    for key, nullable in (("services", False), ("participants", True)):
        value = meta.get(key)
        if key not in meta:
            if not nullable:
                problems.append(f"{key}: missing")
        elif value is None and nullable:
            pass
        elif not isinstance(value, list):
            problems.append(f"{key}: expected a list of strings, got {json_type(value)}")
        else:
            problems += [f"{key}[{i}]: expected a string, got {json_type(v)}" for i, v in enumerate(value)
                         if not isinstance(v, str)]
    return problems


def _readback_problems(readback: dict) -> list[str]:
    problems = []
    for service, copies in readback.items():
        if not isinstance(copies, dict):
            problems.append(f"{shown(service)}: expected an object, got {json_type(copies)}")
            continue
        problems += [f"{shown(service)}.{shown(wid)}: expected a whole number >= 0, got "
                     + (str(n) if _is_finite(n) else json_type(n))
                     for wid, n in copies.items() if not _is_count(n)]
    return problems


def read_object(path: Path, problems_of: Callable[[dict], list[str]]) -> dict:
    """The JSON object in ``path``, checked by ``problems_of``; InvalidInput naming what is wrong."""
    value = read_json(path)
    if not isinstance(value, dict):
        refuse(path, [f"expected a JSON object, got {json_type(value)}"])
    refuse(path, problems_of(value))
    return value


def read_run_folder(run_dir: Path) -> RunFolder:
    """Every file of the run folder ``run_dir`` but the experiment, each checked (see the module's
    docstring); InvalidInput naming the first damaged file."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InvalidInput(f"{run_dir}: not a run folder ({'not a folder' if run_dir.exists() else 'no such folder'})")
    if not os.path.lexists(run_dir / META):
        raise InvalidInput(f"{run_dir}: not a run folder (no {META})")
    meta = read_object(run_dir / META, _meta_problems)
    history = history_mod.load(run_dir)
    optional = {}
    for name, problems_of in ((READBACK, _readback_problems), (INVARIANTS, invariants_mod.problems)):
        path = run_dir / name
        optional[name] = read_object(path, problems_of) if os.path.lexists(path) else None
    return RunFolder(run_dir, meta, history, optional[READBACK], optional[INVARIANTS])
