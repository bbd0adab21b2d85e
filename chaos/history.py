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

# The steps of a fault, in the order the runner writes them.
INVOKED = "invoked"  # written before the act: a harness killed mid-injection leaves a trace to heal from
INJECT_DONE = "done"
INJECT_FAILED = "inject_failed"
HEAL_INVOKED = "heal_invoked"
HEALED = "healed"
HEAL_FAILED = "heal_failed"

# Marks the runner writes.
MARK_LOAD_STARTED = "load_started"
MARK_LOAD_STOPPED = "load_stopped"
MARK_ABORTED = "aborted"  # an abort_if condition held, or a game day's facilitator aborted
# Marks that say the run did not do what its experiment says: each makes the run ``unknown``
# (``chaos.checks.builtin.ran_as_written``), with what it means here.
MARK_LOAD_ENDED_EARLY = "load_ended_early"
MARK_RECORDS_LOST = "records_lost"
MARK_HISTORY_WRITE_FAILED = "history_write_failed"
MARK_INTERRUPTED = "interrupted"  # SIGINT/SIGTERM cut the run short (the load, the recovery wait, the read-back)
INTEGRITY_MARKS = {
    MARK_LOAD_ENDED_EARLY: "the load ended before its time",
    MARK_RECORDS_LOST: "the load's requests did not all reach the history",
    MARK_HISTORY_WRITE_FAILED: "the history could not be written as the run went",
    MARK_INTERRUPTED: "the run was interrupted before its end",
}


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
    """Appends records to one file, one JSON object a line, each line in its own ``write(2)``.

    A write that fails (a full disk, an I/O error) never raises: the line is kept in memory, in
    order, ``error`` remembers the first failure, ``on_error`` is called once with it, and every
    later ``write`` or ``flush`` tries again from where the disk stopped (a line written in part is
    finished, never written twice), so no record is torn or lost while the process lives. Nothing
    the runner writes may stand between a fault and its heal: this is why.

    Safe to share between threads of one process; each process must use its own file.
    """

    def __init__(self, path: Path, on_error=None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        self._lock = threading.Lock()
        self._pending: list[bytes] = []  # lines not (or not wholly) on disk yet, oldest first
        self.error: OSError | None = None  # the first write that failed, if any
        self.on_error = on_error

    @property
    def closed(self) -> bool:
        return self._fd is None

    @property
    def unwritten(self) -> int:
        """How many records are still only in memory."""
        with self._lock:
            return len(self._pending)

    def write(self, record: dict) -> None:
        line = (json.dumps(record, separators=(",", ":")) + "\n").encode("utf-8")
        with self._lock:
            self._pending.append(line)
            self._flush_locked()

    def flush(self) -> bool:
        """Try to write what is still in memory; True when nothing is left there."""
        with self._lock:
            return self._flush_locked()

    def _flush_locked(self) -> bool:
        while self._pending:
            if self._fd is None:
                return False
            data = self._pending[0]
            try:
                n = os.write(self._fd, data)
            except OSError as e:
                first = self.error is None
                if first:
                    self.error = e
                if first and self.on_error is not None:
                    try:
                        self.on_error(e)
                    except Exception:  # noqa: BLE001 - a warning must not stop the caller's work
                        pass
                return False
            if n < len(data):
                self._pending[0] = data[n:]  # the rest of the line next time
            else:
                self._pending.pop(0)
        return True

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

    def close(self) -> bool:
        """A last try to write what is in memory, then close; True when every record is on disk."""
        with self._lock:
            done = self._flush_locked()
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            return done


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


class DiskReserve:
    """Space set aside in the run folder when the run starts (a file of ``nbytes`` zeros), given
    back when the history must be completed: a disk that fills during the load then still has room
    for the heal's records, the marks that say the history has a gap, and meta.json. Without it a
    full disk would leave a run folder that says nothing of what went wrong."""

    NAME = ".space-reserve"

    def __init__(self, run_dir: Path, nbytes: int = 4 << 20):
        self.path = Path(run_dir) / self.NAME
        try:
            with open(self.path, "wb") as f:
                f.write(b"\0" * nbytes)
                f.flush()
                os.fsync(f.fileno())
            self.held = nbytes
        except OSError:
            self.release()  # a disk already too full to reserve: the writers will say so
            self.held = 0

    def release(self) -> None:
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
        self.held = 0
