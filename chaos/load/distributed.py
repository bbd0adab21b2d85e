"""One history from a Locust master and its workers: records travel to the master in Locust's own
worker-to-master messages (``register_message`` / ``send_message``), never in files of their own.

Worker side (``Batcher``): the recorder hands each record to the batcher instead of a file; every
``BATCH_INTERVAL_S`` the worker sends what it holds as one numbered batch (``seq`` 0, 1, 2, ... per
worker) with the running count of records it has sent (``sent``). When its users have stopped it
sends a last batch marked ``final``: after it, the count is the worker's whole load.

Master side (``Collector``): writes each worker's records into the history, one file per worker
(``load-<worker>.jsonl``, ``chaos.run_folder.load_history_name``), every record stamped with the
worker's name (``worker``). At the end it compares what arrived with what each worker said it sent;
a batch that never arrived, a final batch that never came (the worker died, the link was cut), or a
count that does not add up is a ``records_lost`` mark saying how many, and a worker that stopped
answering before the load's end is a ``worker_lost`` mark saying which and when: both integrity
marks, so the run is ``unknown``. Those marks go into the master's own file (``master.jsonl``).

Clocks (NTP's way): a worker's monotonic clock is not the master's (another machine, or an
injected one). Every interval the worker sends its clock ``t0``; the master answers with its own
``t1``; the worker notes ``t2`` on the answer and hands the sample (t0, t1, t2) to the master with
its next batch. ``offset = t1 - (t0 + t2) / 2`` with ``bound = (t2 - t0) / 2``: the true offset lies
within the bound whatever the two legs' delays, so the sample with the smallest bound is kept
(``ClockEstimate``). The master places each record on its clock (``mono`` += offset; the worker's
own reading is kept as ``worker_mono``) and writes a ``worker_clock`` mark per worker with the
offset and the largest bound it ever applied to a record of that worker (``bound``, seconds): no
time computed from those records is finer than that. A worker's records wait at the master until a
first sample arrives; records that never get one are placed uncorrected under a ``clock_unknown``
mark (integrity: the run is ``unknown``).

Only ``install_worker`` and ``install_master`` touch Locust (they run inside Locust processes,
where gevent has patched the standard library); ``Batcher``, ``ClockEstimate`` and ``Collector``
are plain objects with injected clocks and writers, tested without Locust.
"""

from __future__ import annotations

import math
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from chaos.run_folder import (KIND_MARK, MARK_CLOCK_UNKNOWN, MARK_RECORDS_LOST, MARK_WORKER_CLOCK, MARK_WORKER_LOST,
                              MASTER_HISTORY, load_history_name)

# Locust message types of the harness (Locust's own are "stats", "heartbeat", ...).
MSG_RECORDS = "chaos_records"  # worker -> master: one batch
MSG_CLOCK = "chaos_clock"  # worker -> master: {"t0": worker clock}
MSG_CLOCK_REPLY = "chaos_clock_reply"  # master -> worker: {"t0": as sent, "t1": master clock}
MSG_STOP = "chaos_stop"  # master -> worker: stop your users and send your final batch

BATCH_INTERVAL_S = 1.0  # how often a worker sends its records (the live view's and abort_if's delay)
CLOCK_SAMPLES_KEPT = 4  # per batch, the best new samples a worker sends along
FINAL_WAIT_MARGIN_S = 2.0  # the master waits Locust's stop timeout plus this for every final batch

_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


def worker_name(text: str) -> str:
    """A worker's name made fit for a file name (``load-<name>.jsonl``): letters, digits, ``_.-``."""
    name = _NAME.sub("-", text).strip("-.")[:60]
    return name or "worker"


# --- clocks ----------------------------------------------------------------------------------------

@dataclass
class ClockEstimate:
    """The best (smallest-bound) NTP sample of one worker's clock against the master's."""

    offset: float | None = None  # master clock - worker clock, seconds
    bound: float = math.inf  # the true offset is within offset +- bound
    samples: int = 0

    def add(self, t0: float, t1: float, t2: float) -> bool:
        """Take one round trip (worker sent at t0, master stamped t1, worker got it at t2); True if it
        is now the best. A sample whose worker times run backwards is no sample."""
        if not all(isinstance(t, (int, float)) and math.isfinite(t) for t in (t0, t1, t2)) or t2 < t0:
            return False
        self.samples += 1
        bound = (t2 - t0) / 2
        if bound < self.bound:
            self.offset, self.bound = t1 - (t0 + t2) / 2, bound
            return True
        return False


# --- worker side -----------------------------------------------------------------------------------

class Batcher:
    """A worker's records on their way to the master: numbered batches, a running count, and the clock
    samples gathered since the last batch."""

    def __init__(self, name: str):
        self.name = name
        self.records: list[dict] = []
        self.samples: list[tuple[float, float, float]] = []
        self.seq = 0  # the number of the next batch
        self.sent = 0  # records handed to batches so far
        self.final_sent = False

    def write(self, record: dict) -> None:  # the recorder's sink, as HistoryWriter.write
        record["worker"] = self.name
        self.records.append(record)

    def sample(self, t0: float, t1: float, t2: float) -> None:
        self.samples.append((t0, t1, t2))

    def take(self, final: bool = False) -> dict | None:
        """The next batch (None when there is nothing to say: no record, no sample, and not a final
        batch that has not been sent yet)."""
        if not self.records and not self.samples and not (final and not self.final_sent):
            return None
        records, self.records = self.records, []
        best = sorted(self.samples, key=lambda s: s[2] - s[0])[:CLOCK_SAMPLES_KEPT]
        self.samples = []
        self.sent += len(records)
        batch = {"worker": self.name, "seq": self.seq, "sent": self.sent, "final": final,
                 "records": records, "clock": [list(s) for s in best]}
        self.seq += 1
        self.final_sent = self.final_sent or final
        return batch


# --- master side -----------------------------------------------------------------------------------

@dataclass
class _Worker:
    client_id: str
    name: str
    writer: object | None = None
    clock: ClockEstimate = field(default_factory=ClockEstimate)
    seqs: set[int] = field(default_factory=set)
    received: int = 0  # records that reached the master
    sent: int = 0  # the largest count the worker said it had sent
    final: bool = False
    held: list[dict] = field(default_factory=list)  # records waiting for a first clock sample
    worst_bound: float = 0.0  # the largest bound applied to one of its records
    last_heard: float | None = None  # master clock, the last message from it
    lost: str | None = None  # why it counts as lost, if it does
    clock_written: bool = False


class Collector:
    """The master's end: every batch of every worker into the history, and at ``close`` the marks
    that say what did not arrive. ``open_writer(path)`` makes a ``HistoryWriter`` (injected in tests);
    ``clock`` is the master's monotonic clock, ``wall`` its wall clock."""

    def __init__(self, directory: Path, open_writer: Callable[[Path], object],
                 clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time):
        self.directory = Path(directory)
        self.open_writer = open_writer
        self.clock, self.wall = clock, wall
        self.workers: dict[str, _Worker] = {}
        self.stopping = False
        self._master = None
        self.closed = False

    # who is there

    def _worker(self, client_id: str, name: str | None = None) -> _Worker:
        w = self.workers.get(client_id)
        if (w is not None and name is not None and w.writer is None and not w.seqs
                and w.name != worker_name(name)):
            del self.workers[client_id]  # named by its id at connect; its own name arrives with its first batch
            w2 = self._worker(client_id, name)
            w2.last_heard, w2.lost = w.last_heard, w.lost
            return w2
        if w is None:
            base = worker_name(name or client_id)
            taken = {x.name for x in self.workers.values()}
            unique, n = base, 1
            while unique in taken or unique == Path(MASTER_HISTORY).stem:
                n += 1
                unique = f"{base}-{n}"
            w = self.workers[client_id] = _Worker(client_id, unique)
        return w

    def connected(self, client_id: str) -> None:
        self._worker(client_id).last_heard = self.clock()

    def heard(self, client_id: str) -> None:
        if client_id in self.workers:
            self.workers[client_id].last_heard = self.clock()

    def lost(self, client_id: str, why: str) -> bool:
        """Note that a worker stopped answering while the load ran (True the first time); the mark is
        written at once, so a run cut short still carries it."""
        w = self._worker(client_id)
        if w.lost is not None:
            return False
        w.lost = why
        heard = "" if w.last_heard is None else f", last heard from at mono {w.last_heard:.3f}"
        self._mark(MARK_WORKER_LOST, f"worker {w.name} ({client_id}) {why}{heard}", worker=w.name)
        return True

    def waiting_for(self) -> list[str]:
        """Workers still due a final batch (lost ones are not waited for)."""
        return [w.client_id for w in self.workers.values() if not w.final and w.lost is None]

    # records

    def receive(self, client_id: str, batch) -> None:
        """One batch from a worker. A malformed one is said (a mark) rather than raised: the message
        loop of Locust must go on."""
        try:
            name, seq, sent = batch["worker"], batch["seq"], batch["sent"]
            records, samples, final = batch["records"], batch.get("clock") or [], bool(batch["final"])
            if not (isinstance(seq, int) and isinstance(sent, int) and isinstance(records, list)):
                raise TypeError("seq, sent or records of the wrong type")
        except (KeyError, TypeError) as e:
            w = self._worker(client_id)
            self._mark(MARK_RECORDS_LOST, f"worker {w.name} ({client_id}) sent a batch the master cannot "
                                          f"read ({type(e).__name__}: {e})", worker=w.name)
            return
        w = self._worker(client_id, str(name))
        w.last_heard = self.clock()
        for s in samples:
            if isinstance(s, (list, tuple)) and len(s) == 3:
                w.clock.add(*s)
        if seq in w.seqs:
            return  # a batch seen already (a resend) is never written twice
        w.seqs.add(seq)
        w.sent = max(w.sent, sent)
        if final and not w.final and not self.stopping:  # its users stopped while the load was to go on
            self.lost(client_id, "stopped its users before the load's end (it sent its final batch unasked)")
        w.final = w.final or final
        w.received += len(records)
        w.held.extend(records)
        if w.clock.offset is not None:
            self._place(w)

    def _place(self, w: _Worker) -> None:
        if not w.held:
            return
        if w.writer is None:
            w.writer = self.open_writer(self.directory / load_history_name(w.name))
        offset = w.clock.offset or 0.0
        if w.clock.offset is not None:
            w.worst_bound = max(w.worst_bound, w.clock.bound)
            if not w.clock_written:
                w.clock_written = True
                self._clock_mark(w, "first estimate")
        for record in w.held:
            mono = record.get("mono")
            if isinstance(mono, (int, float)) and not isinstance(mono, bool) and w.clock.offset is not None:
                record["worker_mono"] = mono
                record["mono"] = mono + offset
            w.writer.write(record)
        w.held = []

    def _clock_mark(self, w: _Worker, when: str) -> None:
        c = w.clock
        self._mark(MARK_WORKER_CLOCK, f"worker {w.name}: clock offset {c.offset:+.6f} s, records placed within "
                                      f"+-{w.worst_bound * 1000:.3f} ms ({when}; best of {c.samples} round trips)",
                   worker=w.name, offset=c.offset, bound=w.worst_bound, samples=c.samples)

    def _mark(self, name: str, detail: str, **extra) -> None:
        if self._master is None:
            self._master = self.open_writer(self.directory / MASTER_HISTORY)
        record = {"kind": KIND_MARK, "name": name, "wall": self.wall(), "mono": self.clock(), "detail": detail}
        record.update(extra)
        self._master.write(record)

    # the end

    def close(self) -> list[str]:
        """Place what is held, write the marks of what did not arrive, close every file. Returns the
        problems found (each also a mark). Safe to call twice."""
        if self.closed:
            return []
        self.closed = True
        problems: list[str] = []
        for w in self.workers.values():
            if w.held and w.clock.offset is None:
                detail = (f"worker {w.name} ({w.client_id}): no clock round trip completed, so its "
                          f"{len(w.held)} records are placed on its own clock, not the harness's")
                problems.append(detail)
                self._mark(MARK_CLOCK_UNKNOWN, detail, worker=w.name)
            self._place(w)
            if w.clock.offset is not None:
                self._clock_mark(w, "at the end")
            missing_batches = sorted(set(range(max(w.seqs, default=-1) + 1)) - w.seqs)
            gap = w.sent - w.received
            if w.final and gap == 0 and not missing_batches:
                continue
            parts = []
            if gap or missing_batches:
                batches = f" (batches {', '.join(map(str, missing_batches))} never arrived)" if missing_batches else ""
                parts.append(f"{gap} of the {w.sent} records it sent are missing{batches}")
            if not w.final:
                parts.append("its final batch never arrived, so the requests it made after its last batch are "
                             "not in the history either (their number is unknown)")
            detail = f"worker {w.name} ({w.client_id}): " + "; ".join(parts)
            problems.append(detail)
            self._mark(MARK_RECORDS_LOST, detail, worker=w.name, missing=gap, complete=w.final)
        for writer in [w.writer for w in self.workers.values() if w.writer is not None] + [self._master]:
            if writer is not None:
                writer.close()
        return problems

    def errors(self) -> list[str]:
        """Files the master could not write as the run went (their records are then incomplete)."""
        out = []
        for writer in [w.writer for w in self.workers.values()] + [self._master]:
            if writer is not None and getattr(writer, "error", None) is not None:
                out.append(f"{writer.path}: {writer.error}")
        return out


# --- inside Locust ---------------------------------------------------------------------------------

def install_worker(environment, batcher: Batcher, clock: Callable[[], float],
                   interval_s: float = BATCH_INTERVAL_S, entry_url: str | None = None) -> None:
    """In a Locust worker: send ``batcher``'s batches and clock samples to the master, and the final
    batch once the users have stopped (``test_stop``, or the master's ``chaos_stop``). ``entry_url``
    replaces the host the master gives (its own view of the stack's entry point)."""
    import gevent
    from locust.exception import RPCError

    runner = environment.runner

    def send(final: bool) -> None:
        batch = batcher.take(final)
        if batch is None:
            return
        try:
            runner.send_message(MSG_RECORDS, batch)
        except RPCError as e:  # the batch is gone; its number is a gap the master sees and counts
            print(f"chaos-harness worker {batcher.name}: batch {batch['seq']} not sent ({e})",
                  file=sys.stderr, flush=True)

    def on_clock_reply(environment, msg, **_kw) -> None:
        data = msg.data or {}
        batcher.sample(data.get("t0"), data.get("t1"), clock())

    def on_stop(environment, msg, **_kw) -> None:
        runner.stop()  # in-flight requests finish (Locust's stop timeout) and are recorded
        send(final=True)

    def loop() -> None:
        while True:
            try:
                runner.send_message(MSG_CLOCK, {"t0": clock()})
            except RPCError:
                pass
            gevent.sleep(interval_s)
            send(final=False)

    if entry_url:
        def use_entry_url(environment, **_kw) -> None:  # after the master's spawn set its host, before users start
            environment.host = entry_url

        environment.events.test_start.add_listener(use_entry_url)
    runner.register_message(MSG_CLOCK_REPLY, on_clock_reply)
    runner.register_message(MSG_STOP, on_stop)
    environment.events.test_stop.add_listener(lambda **_kw: send(final=True))
    runner.greenlet.spawn(loop)


def install_master(environment, collector: Collector, ready: Callable[[], None] | None = None,
                   stopping: Callable[[], None] | None = None) -> None:
    """In a Locust master: write every worker's batches through ``collector``; answer clock samples;
    note a worker that goes missing or quits while the load runs; when the load stops, ask every
    worker for its final batch and wait for them (Locust's stop timeout plus a margin) before
    Locust quits; at ``quit``, close the collector. ``ready`` is called when the test starts (every
    expected worker has connected), ``stopping`` when the load stops."""
    import gevent
    from locust.runners import STATE_MISSING

    runner = environment.runner

    def on_records(environment, msg, **_kw) -> None:
        collector.receive(msg.node_id, msg.data)

    def on_clock(environment, msg, **_kw) -> None:
        collector.heard(msg.node_id)
        t0 = (msg.data or {}).get("t0")
        runner.send_message(MSG_CLOCK_REPLY, {"t0": t0, "t1": collector.clock()}, client_id=msg.node_id)

    def watch() -> None:
        while True:
            gevent.sleep(0.5)
            if collector.stopping:
                continue
            for client_id in list(collector.workers):
                node = runner.clients.get(client_id)
                if node is None:
                    collector.lost(client_id, "quit before the load's end")
                elif node.state == STATE_MISSING:
                    collector.lost(client_id, "stopped sending heartbeats (missing)")

    asked = []

    def final_batches(**_kw) -> None:
        """Once, when the load stops (Locust's ``test_stopping``, or ``quitting`` on a SIGTERM, which
        comes first): no worker leaving from now on is lost; ask each for its final batch and wait."""
        collector.stopping = True
        if asked:
            return
        asked.append(True)
        if stopping is not None:
            stopping()
        for client_id in collector.waiting_for():
            try:
                runner.send_message(MSG_STOP, None, client_id=client_id)
            except Exception as e:  # noqa: BLE001 - one worker out of reach must not keep the rest
                print(f"chaos-harness master: cannot ask {client_id} for its final batch ({e})",
                      file=sys.stderr, flush=True)
        wait_s = (environment.stop_timeout or 0) + FINAL_WAIT_MARGIN_S
        deadline = time.monotonic() + wait_s
        while collector.waiting_for() and time.monotonic() < deadline:
            gevent.sleep(0.05)
            for client_id in collector.waiting_for():
                node = runner.clients.get(client_id)
                if node is not None and node.state == STATE_MISSING:
                    collector.lost(client_id, "stopped sending heartbeats (missing) before its final batch")
        for client_id in collector.waiting_for():
            collector.lost(client_id, f"sent no final batch within {wait_s:g} s of the load's stop")

    runner.register_message(MSG_RECORDS, on_records)
    runner.register_message(MSG_CLOCK, on_clock)
    environment.events.worker_connect.add_listener(lambda client_id, **_kw: collector.connected(client_id))
    environment.events.test_stopping.add_listener(final_batches)
    environment.events.quitting.add_listener(final_batches)
    if ready is not None:
        environment.events.test_start.add_listener(lambda **_kw: ready())
    runner.greenlet.spawn(watch)
