"""The history: one append-only record per run, the only place load, faults and checks meet.

A run folder holds ``history/*.jsonl``: one file per writer process (``load-<pid>.jsonl`` for each
Locust process, ``faults.jsonl`` for the runner), so several writers never clobber each other.
Every line is one JSON object with a ``kind``:

``op``    one request of the load::

    {"kind": "op", "service": "orders", "op": "create", "outcome": "ok"|"fail"|"unknown",
     "start": <wall s>, "mono": <monotonic s at start>, "latency": <s>, "write_id": "..."|null,
     "status": <http status or null>, "error": "..."|null, "proc": <pid>}

    ``write_id`` is set only on writes: it names what the request wrote, so the read-back can look
    for it. An ``ok`` write is *acknowledged*; an ``unknown`` one is indeterminate (timeout, lost
    answer): never counted as lost.

``fault`` one step of a fault::

    {"kind": "fault", "id": "f0", "type": "power_cut", "target": "site=pangyo",
     "step": "invoked"|"done"|"inject_failed"|"heal_invoked"|"healed"|"heal_failed", "wall": <s>, "mono": <s>, "detail": "..."}

``mark``  a phase boundary the runner writes (``load_started``, ``load_stopped``, ``aborted``, ...)::

    {"kind": "mark", "name": "load_started", "wall": <s>, "mono": <s>}
    {"kind": "mark", "name": "aborted", "wall": <s>, "mono": <s>, "detail": "<why the run stopped>"}

``note``  a line a game day's facilitator typed (``chaos.gameday``), stamped when it was entered::

    {"kind": "note", "wall": <s>, "mono": <s>, "text": "primary gone at pangyo", "author": "alice"|null}

Monotonic times come from CLOCK_MONOTONIC, which is one clock for every process on the host, so
records of the Locust processes and of the runner line up.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

OUTCOMES = ("ok", "fail", "unknown")


@dataclass(frozen=True)
class Op:
    service: str
    op: str
    outcome: str
    start: float  # wall clock, seconds
    mono: float  # monotonic, seconds, at start
    latency: float  # seconds
    write_id: str | None = None
    status: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


@dataclass(frozen=True)
class FaultStep:
    id: str
    type: str
    target: str
    step: str  # invoked | done | inject_failed | heal_invoked | healed | heal_failed
    wall: float
    mono: float
    detail: str = ""


@dataclass(frozen=True)
class Mark:
    name: str
    wall: float
    mono: float
    detail: str = ""


@dataclass(frozen=True)
class Note:
    text: str
    wall: float
    mono: float
    author: str | None = None


@dataclass(frozen=True)
class History:
    ops: tuple[Op, ...]
    faults: tuple[FaultStep, ...]
    marks: tuple[Mark, ...]
    notes: tuple[Note, ...] = ()  # a game day's typed notes, in the order they were entered

    def mark(self, name: str) -> Mark | None:
        for m in self.marks:
            if m.name == name:
                return m
        return None

    def services(self) -> list[str]:
        return sorted({o.service for o in self.ops})


class HistoryWriter:
    """Appends records to one file, one JSON object a line, flushed line by line.

    Safe to share between threads of one process; each process must use its own file.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._f = open(self.path, "a", buffering=1, encoding="utf-8")
        self._lock = threading.Lock()

    def write(self, record: dict) -> None:
        line = json.dumps(record, separators=(",", ":"))
        with self._lock:
            self._f.write(line + "\n")

    def fault(self, id: str, type: str, target: str, step: str, detail: str = "") -> None:
        self.write({"kind": "fault", "id": id, "type": type, "target": target, "step": step,
                    "wall": time.time(), "mono": time.monotonic(), "detail": detail})

    def mark(self, name: str, detail: str = "") -> None:
        record = {"kind": "mark", "name": name, "wall": time.time(), "mono": time.monotonic()}
        if detail:
            record["detail"] = detail
        self.write(record)

    def note(self, text: str, author: str | None = None) -> dict:
        """Record a typed note, stamped now; return the record written."""
        record = {"kind": "note", "wall": time.time(), "mono": time.monotonic(), "text": text,
                  "author": author}
        self.write(record)
        return record

    def close(self) -> None:
        with self._lock:
            self._f.close()


def history_dir(run_dir: Path) -> Path:
    return Path(run_dir) / "history"


def iter_records(paths: Iterable[Path]) -> Iterator[dict]:
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    # A writer killed mid-line leaves one torn last line; skip it, keep the rest.
                    continue


def op_from_record(r: dict) -> Op:
    """The Op of an ``op`` record; KeyError if a field is missing."""
    return Op(service=r["service"], op=r["op"], outcome=r["outcome"], start=r["start"], mono=r["mono"],
              latency=r["latency"], write_id=r.get("write_id"), status=r.get("status"), error=r.get("error"))


def parse(records: Iterable[dict]) -> History:
    ops: list[Op] = []
    faults: list[FaultStep] = []
    marks: list[Mark] = []
    notes: list[Note] = []
    for r in records:
        kind = r.get("kind")
        if kind == "op":
            ops.append(op_from_record(r))
        elif kind == "fault":
            faults.append(FaultStep(id=r["id"], type=r["type"], target=r["target"], step=r["step"],
                                    wall=r["wall"], mono=r["mono"], detail=r.get("detail", "")))
        elif kind == "mark":
            marks.append(Mark(name=r["name"], wall=r["wall"], mono=r["mono"], detail=r.get("detail", "")))
        elif kind == "note":
            notes.append(Note(text=str(r["text"]), wall=r["wall"], mono=r["mono"], author=r.get("author")))
    ops.sort(key=lambda o: o.mono)
    faults.sort(key=lambda f: f.mono)
    marks.sort(key=lambda m: m.mono)
    notes.sort(key=lambda n: n.mono)
    return History(tuple(ops), tuple(faults), tuple(marks), tuple(notes))


def load(run_dir: Path) -> History:
    files = sorted(history_dir(run_dir).glob("*.jsonl"))
    return parse(iter_records(files))


def writer_for_this_process(directory: Path, prefix: str = "load") -> HistoryWriter:
    return HistoryWriter(Path(directory) / f"{prefix}-{os.getpid()}.jsonl")
