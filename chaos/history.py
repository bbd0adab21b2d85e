"""The history: one append-only record per run, the only place load, faults and checks meet.

A run folder holds ``history/*.jsonl``: one file per writer process (``load-<pid>.jsonl`` for each
Locust process, ``faults.jsonl`` for the runner), so several writers never clobber each other.
Every line is one JSON object with a ``kind``:

``op``    one request of the load::

    {"kind": "op", "service": "orders", "op": "create", "outcome": "ok"|"fail"|"unknown",
     "start": <wall s>, "mono": <monotonic s at start>, "latency": <s>, "write_id": "..."|null,
     "status": <http status or null>, "error": "..."|null, "proc": <pid>,
     "who"?: "<client>"|null, "expect"?: ["<write id>", ...]|null, "saw"?: ["<write id>", ...]|null}

    ``write_id`` is set only on writes: it names what the request wrote, so the read-back can look
    for it. An ``ok`` write is *acknowledged*; an ``unknown`` one is indeterminate (timeout, lost
    answer): never counted as lost. A request with a ``write_id`` is a *write*, every other one a
    *read*. ``who`` names the logical client (a person of the workload); a read that must reflect
    that client's own earlier acknowledged writes lists their ids in ``expect`` and, when it
    answered, which of them it reflected in ``saw`` (read-your-writes).

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

Reading a history back (``load``, ``parse``) checks every record in one place (``record_of``): its
kind, the keys its kind requires, their types (finite numbers within ``MAX_SECONDS`` of 0 for
``start``, ``wall``, ``mono`` and ``latency``; ``outcome`` in ``OUTCOMES``; ``step`` in ``STEPS``; strings where strings are written);
extra keys are allowed. The folder is evidence, so a line that is not a record is never skipped: it
is invalid input (``InvalidInput``, exit 2) naming the file and the line, up to ``MAX_PROBLEMS`` of
them. Blank lines carry nothing and are passed over.

One exception, decided here: the *last* line of a file, with no newline after it, that does not
decode is *torn*: a writer killed while writing it (a SIGKILL, a full disk). It is not a record and
not a reason to refuse the run either: it is a record that did not reach the history. ``History.torn``
names each (``file:line``) and the judge's ``history_complete`` check makes the run ``unknown``, so
the judgement carries it. (A complete last line without its newline is a record like any other.)
A live reader (the runner's ``LiveTally``) leaves an unfinished last line for its next read instead.
"""

from __future__ import annotations

import errno
import json
import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from chaos.clock import SYSTEM_CLOCK, Clock
from chaos.errors import InvalidInput, Problem
from chaos.files import FILE_MODE, json_type, open_regular

from chaos.run_folder import (  # noqa: F401  (the vocabulary, re-exported for readers of the history)
    FAIL, HEAL_FAILED, HEAL_INVOKED, HEALED, HISTORY_GLOB, INJECT_DONE, INJECT_FAILED, INTEGRITY_MARKS, INVOKED,
    KIND_FAULT, KIND_MARK, KIND_NOTE, KIND_OP, KINDS, MARK_ABORTED, MARK_HISTORY_WRITE_FAILED, MARK_INTERRUPTED,
    MARK_LOAD_ENDED_EARLY, MARK_LOAD_STARTED, MARK_LOAD_STOPPED, MARK_RECORDS_LOST, OK, OUTCOMES, SPACE_RESERVE,
    STEPS, UNKNOWN, history_dir,
)

MAX_PROBLEMS = 10  # damaged lines named in one error; the rest are counted
MAX_SECONDS = 1e12  # bound of every time and duration of a record (wall clocks are ~1.8e9 today)


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
    who: str | None = None  # the logical client (a person of the workload) that made the request
    expect: tuple[str, ...] = ()  # a read: write ids of ``who``'s own acknowledged writes it must reflect
    saw: tuple[str, ...] | None = None  # a read that answered: which of ``expect`` it reflected

    @property
    def ok(self) -> bool:
        return self.outcome == OK

    @property
    def is_write(self) -> bool:
        """A request that wrote something names it (``write_id``); every other request is a read."""
        return self.write_id is not None


@dataclass(frozen=True)
class FaultStep:
    """One step of one fault (``STEPS``), as the runner wrote it."""

    id: str
    type: str
    target: str
    step: str  # invoked | done | inject_failed | heal_invoked | healed | heal_failed
    wall: float
    mono: float
    detail: str = ""


@dataclass(frozen=True)
class Mark:
    """A phase boundary or an integrity mark (``MARK_*``), with why when it says something went wrong."""

    name: str
    wall: float
    mono: float
    detail: str = ""
    # A mark about one load worker (``worker_clock``, ``worker_lost``, ``records_lost``, ...) names it;
    # a ``worker_clock`` mark also carries its clock's offset and the bound (seconds) within which
    # that worker's records are placed on the harness's clock (``chaos.load.distributed``).
    worker: str | None = None
    offset: float | None = None
    bound: float | None = None


@dataclass(frozen=True)
class Note:
    """A line a game day's facilitator typed, stamped when it was entered."""

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
    torn: tuple[str, ...] = ()  # "file:line" of each torn last line: records that did not reach the history

    def mark(self, name: str) -> Mark | None:
        for m in self.marks:
            if m.name == name:
                return m
        return None

    def services(self) -> list[str]:
        return sorted({o.service for o in self.ops})

    def steps_by_fault(self) -> dict[str, tuple[FaultStep, ...]]:
        """The steps of each fault id, in the order they were written (monotonic time); the ids in
        the order of their first step."""
        steps: dict[str, list[FaultStep]] = {}
        for step in sorted(self.faults, key=lambda s: s.mono):
            steps.setdefault(step.id, []).append(step)
        return {fid: tuple(fsteps) for fid, fsteps in steps.items()}


def _strike(pending: tuple[bytes, ...], n: int) -> tuple[bytes, ...]:
    """``pending`` without its first ``n`` bytes (a line written in part keeps its rest)."""
    out = list(pending)
    while n > 0 and out:
        if n >= len(out[0]):
            n -= len(out.pop(0))
        else:
            out[0], n = out[0][n:], 0
    return tuple(out)


class HistoryWriter:
    """Appends records to one file, one JSON object a line, each line in its own ``write(2)``.

    A write that fails (a full disk, an I/O error) never raises: the line is kept in memory, in
    order, ``error`` remembers the first failure, ``on_error`` is called once with it, and every
    later ``write`` or ``flush`` tries again from where the disk stopped (a line written in part is
    finished, never written twice), so no record is torn or lost while the process lives. Nothing
    the runner writes may stand between a fault and its heal: this is why.

    Safe to share between threads of one process; each process must use its own file.

    A signal handler that raises (the runner's) may interrupt the writer between a ``write(2)`` and
    the note of what it wrote. So what is in memory and how long the file is known to be are one
    value, replaced in one assignment (``_state``), and before each write the file's real length
    says whether the last write landed unnoted: those bytes are struck from memory, never written
    twice. (Masking signals cannot do this: another thread of the process would take the signal.)
    """

    def __init__(self, path: Path, on_error=None, clock: Clock = SYSTEM_CLOCK):
        self.path = Path(path)
        self.clock = clock  # stamps the fault steps, marks and notes (``wall``, ``mono``)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
        self._lock = threading.Lock()
        # (lines not, or not wholly, on disk yet, oldest first; the file's length once they are not)
        self._state: tuple[tuple[bytes, ...], int] = ((), os.fstat(self._fd).st_size)
        self.error: OSError | None = None  # the first write that failed, if any
        self.on_error = on_error

    @property
    def closed(self) -> bool:
        return self._fd is None

    @property
    def unwritten(self) -> int:
        """How many records are still only in memory."""
        with self._lock:
            return len(self._state[0])

    def write(self, record: dict) -> None:
        line = (json.dumps(record, separators=(",", ":")) + "\n").encode("utf-8")
        with self._lock:
            pending, length = self._state
            self._state = (pending + (line,), length)
            self._flush_locked()

    def flush(self) -> bool:
        """Try to write what is still in memory; True when nothing is left there."""
        with self._lock:
            return self._flush_locked()

    def _flush_locked(self) -> bool:
        while self._state[0]:
            if self._fd is None:  # a record after close: it will never reach the file, and must not go unsaid
                if self.error is None:
                    self.error = OSError(errno.EBADF, f"a record was written after {self.path} was closed")
                return False
            try:
                self._write_once()
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
        return True

    def _write_once(self) -> None:
        """Write the oldest pending line (or its rest) once, after striking what an interrupted
        earlier write put on disk unnoted."""
        pending, length = self._state
        landed = os.fstat(self._fd).st_size - length
        if landed > 0:  # the last write landed, and a raising signal handler cut its note short
            self._state = (_strike(pending, landed), length + landed)
            return
        n = os.write(self._fd, pending[0])
        self._state = (_strike(pending, n), length + n)  # one assignment: a signal comes before or after it

    def fault(self, id: str, type: str, target: str, step: str, detail: str = "") -> None:
        self.write({"kind": KIND_FAULT, "id": id, "type": type, "target": target, "step": step,
                    "wall": self.clock.wall(), "mono": self.clock.monotonic(), "detail": detail})

    def mark(self, name: str, detail: str = "") -> None:
        record = {"kind": KIND_MARK, "name": name, "wall": self.clock.wall(), "mono": self.clock.monotonic()}
        if detail:
            record["detail"] = detail
        self.write(record)

    def note(self, text: str, author: str | None = None) -> dict:
        """Record a typed note, stamped now; return the record written."""
        record = {"kind": KIND_NOTE, "wall": self.clock.wall(), "mono": self.clock.monotonic(), "text": text,
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


class RecordError(ValueError):
    """What is wrong with one record (the caller knows where it is)."""


@dataclass(frozen=True)
class Line:
    """One line of a history file: its JSON value (``record``), or why it has none (``problem``), or
    ``torn`` (the file's last line, unfinished: see the module's docstring)."""

    file: str
    number: int  # 1-based
    record: object = None
    problem: str = ""
    torn: bool = False


def _decode(raw: bytes) -> tuple[object, str]:
    """(the JSON value of one line, "") or (None, why it is not JSON)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return None, f"not UTF-8 (byte {raw[e.start]:#04x} at column {e.start + 1})"
    try:
        return json.loads(text), ""
    except json.JSONDecodeError as e:
        return None, f"not JSON: {e.msg} at column {e.colno}"
    except RecursionError:
        return None, "not JSON: nested too deeply"
    except ValueError as e:  # e.g. an integer of more than 4300 digits
        return None, f"not JSON: {e}"


def iter_lines(paths: Iterable[Path]) -> Iterator[Line]:
    """Every non-blank line of each file in ``paths``, decoded (see ``Line``)."""
    for path in paths:
        with open_regular(path) as f:
            for number, raw in enumerate(f, 1):
                if not raw.strip():
                    continue
                record, problem = _decode(raw)
                if problem and not raw.endswith(b"\n"):  # only the last line can lack its newline
                    yield Line(str(path), number, torn=True)
                else:
                    yield Line(str(path), number, record, problem)


def iter_records(paths: Iterable[Path]) -> Iterator[dict]:
    """The JSON object of every non-blank line of each file in ``paths``, unchecked beyond that;
    InvalidInput naming file and line of the first line that has none (a torn last line too)."""
    for line in iter_lines(paths):
        if line.torn:
            raise InvalidInput(f"{line.file}:{line.number}: torn: the writer stopped in the middle of this line")
        if line.problem or not isinstance(line.record, dict):
            what = line.problem or f"expected a JSON object, got {json_type(line.record)}"
            raise InvalidInput(f"{line.file}:{line.number}: {what}")
        yield line.record


def _field(r: dict, kind: str, key: str, check, expected: str, required: bool = True):
    """``r[key]`` if ``check`` accepts it; RecordError saying what was expected otherwise."""
    if key not in r:
        if required:
            raise RecordError(f"{kind}: {key}: missing")
        return None
    value = r[key]
    if not check(value):
        raise RecordError(f"{kind}: {key}: expected {expected}, got {json_type(value)}")
    return value


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _number(r: dict, kind: str, key: str, *, nullable: bool = False, required: bool = True) -> float | None:
    """A time or a duration in seconds: finite, and at most ``MAX_SECONDS`` from zero (times far
    apart made a plot of a billion bins; two at opposite ends of a float overflow their difference).
    ``nullable``/``required``: an optional field (None when null or absent)."""
    if nullable:
        value = _field(r, kind, key, lambda v: v is None or _is_number(v), "a finite number or null", required)
    else:
        value = _field(r, kind, key, _is_number, "a finite number", required)
    if value is None:
        return None
    if abs(value) > MAX_SECONDS:
        raise RecordError(f"{kind}: {key}: {value:g} is out of range (more than {MAX_SECONDS:g} s from 0)")
    return value


def _text(r: dict, kind: str, key: str, *, nullable: bool = False, required: bool = True):
    if nullable:
        return _field(r, kind, key, lambda v: v is None or isinstance(v, str), "a string or null", required)
    return _field(r, kind, key, lambda v: isinstance(v, str), "a string", required)


def _one_of(r: dict, kind: str, key: str, allowed: tuple[str, ...]) -> str:
    value = _text(r, kind, key)
    if value not in allowed:
        raise RecordError(f"{kind}: {key}: {_show(value)} is not one of {', '.join(allowed)}")
    return value


def _show(value: str, limit: int = 40) -> str:
    """A value quoted for a message: control characters escaped, long values cut."""
    return repr(value if len(value) <= limit else value[:limit] + "...")


def op_from_record(r: dict) -> Op:
    """The Op of an ``op`` record; RecordError (a ValueError) saying what is wrong if it is not one."""
    if not isinstance(r, dict):
        raise RecordError(f"expected a JSON object, got {json_type(r)}")
    latency = _number(r, KIND_OP, "latency")
    if latency < 0:
        raise RecordError(f"op: latency: negative ({latency:g} s)")
    return Op(service=_text(r, KIND_OP, "service"), op=_text(r, KIND_OP, "op"),
              outcome=_one_of(r, KIND_OP, "outcome", OUTCOMES), start=_number(r, KIND_OP, "start"),
              mono=_number(r, KIND_OP, "mono"), latency=latency,
              write_id=_text(r, KIND_OP, "write_id", nullable=True, required=False),
              status=_field(r, KIND_OP, "status", lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool)),
                            "an integer or null", required=False),
              error=_text(r, KIND_OP, "error", nullable=True, required=False),
              who=_text(r, KIND_OP, "who", nullable=True, required=False),
              expect=_ids(r, "expect", required=False) or (),
              saw=_ids(r, "saw", required=False))


MAX_IDS = 10_000  # write ids one read may expect


def _ids(r: dict, key: str, required: bool) -> tuple[str, ...] | None:
    """A list of write ids (strings), or None if absent or null."""
    value = _field(r, KIND_OP, key, lambda v: v is None or (isinstance(v, list) and len(v) <= MAX_IDS
                                                          and all(isinstance(i, str) for i in v)),
                   f"a list of at most {MAX_IDS} strings or null", required)
    return None if value is None else tuple(value)


def record_of(r) -> Op | FaultStep | Mark | Note:
    """The record a history line holds; RecordError saying what is wrong if it holds none."""
    if not isinstance(r, dict):
        raise RecordError(f"expected a JSON object, got {json_type(r)}")
    if "kind" not in r:
        raise RecordError("kind: missing")
    kind = r["kind"]
    if kind not in KINDS:
        shown = _show(kind) if isinstance(kind, str) else json_type(kind)
        raise RecordError(f"kind: {shown} is not one of {', '.join(KINDS)}")
    if kind == KIND_OP:
        return op_from_record(r)
    if kind == KIND_FAULT:
        return FaultStep(id=_text(r, kind, "id"), type=_text(r, kind, "type"), target=_text(r, kind, "target"),
                         step=_one_of(r, kind, "step", STEPS), wall=_number(r, kind, "wall"),
                         mono=_number(r, kind, "mono"), detail=_text(r, kind, "detail", required=False) or "")
    if kind == KIND_MARK:
        return Mark(name=_text(r, kind, "name"), wall=_number(r, kind, "wall"), mono=_number(r, kind, "mono"),
                    detail=_text(r, kind, "detail", required=False) or "",
                    worker=_text(r, kind, "worker", nullable=True, required=False),
                    offset=_number(r, kind, "offset", nullable=True, required=False),
                    bound=_number(r, kind, "bound", nullable=True, required=False))
    return Note(text=_text(r, kind, "text"), wall=_number(r, kind, "wall"), mono=_number(r, kind, "mono"),
                author=_text(r, kind, "author", nullable=True, required=False))


def parse(lines: Iterable[Line | dict]) -> History:
    """The history of ``lines`` (``iter_lines``; plain dicts, e.g. from ``iter_records``, are taken as
    records too).

    InvalidInput naming file and line of each one that is not a record (up to ``MAX_PROBLEMS``)."""
    ops: list[Op] = []
    faults: list[FaultStep] = []
    marks: list[Mark] = []
    notes: list[Note] = []
    torn: list[str] = []
    problems: list[Problem] = []
    damaged = 0
    for index, line in enumerate(lines, 1):
        if not isinstance(line, Line):
            line = Line("record", index, line)
        if line.torn:
            torn.append(f"{line.file}:{line.number}")
            continue
        try:
            if line.problem:
                raise RecordError(line.problem)
            record = record_of(line.record)
        except RecordError as e:
            damaged += 1
            if len(problems) < MAX_PROBLEMS:
                problems.append(Problem(line.file, line.number, None, "", str(e)))
            continue
        {Op: ops, FaultStep: faults, Mark: marks, Note: notes}[type(record)].append(record)
    if problems:
        more = damaged - len(problems)
        raise InvalidInput("\n".join([str(p) for p in problems]
                                     + ([f"... and {more} more damaged lines"] if more else [])))
    ops.sort(key=lambda o: o.mono)
    faults.sort(key=lambda f: f.mono)
    marks.sort(key=lambda m: m.mono)
    notes.sort(key=lambda n: n.mono)
    return History(tuple(ops), tuple(faults), tuple(marks), tuple(notes), tuple(torn))


def load(run_dir: Path) -> History:
    """The history of the run folder ``run_dir``; InvalidInput if its ``history`` folder is missing,
    not a folder, or holds a line that is not a record (see the module's docstring)."""
    directory = history_dir(run_dir)
    if not directory.is_dir():
        raise InvalidInput(f"{directory}: " + ("not a folder" if directory.exists() else "no such folder"))
    return parse(iter_lines(sorted(directory.glob(HISTORY_GLOB))))


class DiskReserve:
    """Space set aside in the run folder when the run starts (a file of ``nbytes`` zeros), given
    back when the history must be completed: a disk that fills during the load then still has room
    for the heal's records, the marks that say the history has a gap, and meta.json. Without it a
    full disk would leave a run folder that says nothing of what went wrong."""

    NAME = SPACE_RESERVE

    def __init__(self, run_dir: Path, nbytes: int = 4 << 20):
        self.path = Path(run_dir) / self.NAME
        try:
            with os.fdopen(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, FILE_MODE),
                           "wb") as f:
                try:  # blocks really allocated, even on a filesystem that would compress zeros away
                    os.posix_fallocate(f.fileno(), 0, nbytes)
                except OSError as e:
                    if e.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
                        raise
                    f.write(b"\0" * nbytes)  # a filesystem without fallocate: written out instead
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
