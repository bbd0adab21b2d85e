"""chaos.load.distributed without Locust: a worker's batches, the master's one history, the marks of
what did not arrive, and records placed on the master's clock from NTP-style round trips."""

import json

import pytest

from chaos.checks.builtin import ran_as_written
from chaos.checks.rto import recovery
from chaos.checks.verdict import Verdict
from chaos.checks.windows import fault_windows
from chaos.history import HistoryWriter, load
from chaos.load.distributed import Batcher, ClockEstimate, Collector, worker_name
from chaos.run_folder import (FAULTS_HISTORY, HEAL_INVOKED, HEALED, INJECT_DONE, INTEGRITY_MARKS, INVOKED,
                              KIND_OP, MARK_CLOCK_UNKNOWN, MARK_LOAD_STARTED, MARK_LOAD_STOPPED,
                              MARK_RECORDS_LOST, MARK_WORKER_CLOCK, MARK_WORKER_LOST, MASTER_HISTORY, FAIL, OK,
                              history_dir, load_history_name)


def op(mono, outcome=OK, service="static"):
    return {"kind": KIND_OP, "service": service, "op": "get", "outcome": outcome, "start": 1.7e9 + mono,
            "mono": mono, "latency": 0.001, "write_id": None, "status": 200, "error": None, "proc": 1}


class Clock:
    def __init__(self, now=100.0):
        self.now = now

    def __call__(self):
        return self.now


def collector(tmp_path, clock=None):
    directory = history_dir(tmp_path)
    directory.mkdir(parents=True, exist_ok=True)
    return Collector(directory, HistoryWriter, clock=clock or Clock(), wall=lambda: 1.7e9)


def records(tmp_path, name):
    path = history_dir(tmp_path) / name
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def marks(tmp_path, name=None):
    return [r for r in records(tmp_path, MASTER_HISTORY) if name is None or r["name"] == name]


# --- the worker's batches --------------------------------------------------------------------------

def test_batches_are_numbered_and_count_what_was_sent():
    b = Batcher("w1")
    assert b.take() is None  # nothing to say
    b.write(op(1.0))
    b.write(op(2.0))
    b.sample(1.0, 5.0, 1.2)
    first = b.take()
    assert (first["seq"], first["sent"], first["final"], len(first["records"])) == (0, 2, False, 2)
    assert all(r["worker"] == "w1" for r in first["records"])
    assert first["clock"] == [[1.0, 5.0, 1.2]]
    b.write(op(3.0))
    final = b.take(final=True)
    assert (final["seq"], final["sent"], final["final"]) == (1, 3, True)
    assert b.take(final=True) is None  # the final batch is said once, unless more came


def test_worker_names_are_fit_for_file_names():
    assert worker_name("host.example/..;rm -rf") == "host.example-..-rm--rf"  # no "/": one file name
    assert worker_name("../..") == "worker"


# --- the clock estimate ----------------------------------------------------------------------------

def test_the_sample_with_the_smallest_bound_is_kept():
    c = ClockEstimate()
    assert c.add(10.0, 1000.05, 10.2)  # bound 0.1
    assert not c.add(11.0, 1001.3, 11.4)  # bound 0.2: worse, not taken
    assert c.add(12.0, 1002.01, 12.02)  # bound 0.01
    assert c.bound == pytest.approx(0.01)
    assert c.offset == pytest.approx(1002.01 - 12.01)
    assert not c.add(13.0, 1003.0, 12.9)  # worker time running backwards: no sample
    assert c.samples == 3


# --- the master's history --------------------------------------------------------------------------

def test_the_master_writes_each_workers_records_on_its_own_clock(tmp_path):
    c = collector(tmp_path)
    c.connected("id-1")
    b = Batcher("w1")
    b.write(op(10.0))
    b.sample(9.0, 1009.5, 10.0)  # offset 1000.0 +- 0.5
    c.receive("id-1", b.take())
    b.write(op(11.0))
    c.stopping = True  # the master asked for the final batches
    c.receive("id-1", b.take(final=True))
    assert c.close() == []
    written = records(tmp_path, load_history_name("w1"))
    assert [r["mono"] for r in written] == [1010.0, 1011.0]
    assert [r["worker_mono"] for r in written] == [10.0, 11.0]
    assert {r["worker"] for r in written} == {"w1"}
    (clock_mark, *_) = marks(tmp_path, MARK_WORKER_CLOCK)
    assert clock_mark["bound"] == pytest.approx(0.5) and clock_mark["offset"] == pytest.approx(1000.0)
    assert not [m for m in marks(tmp_path) if m["name"] in INTEGRITY_MARKS]


def test_a_batch_that_never_arrived_is_counted_as_records_lost(tmp_path):
    c = collector(tmp_path)
    c.stopping = True
    b = Batcher("w1")
    for seq in range(3):
        b.write(op(seq))
        b.write(op(seq + 0.5))
        b.sample(seq, seq + 0.01, seq + 0.02)
        batch = b.take(final=seq == 2)
        if seq != 1:  # batch 1 is lost on the way
            c.receive("id-1", batch)
    problems = c.close()
    (mark,) = marks(tmp_path, MARK_RECORDS_LOST)
    assert mark["missing"] == 2 and mark["complete"] is True
    assert "2 of the 6 records it sent are missing (batches 1 never arrived)" in mark["detail"]
    assert problems == [mark["detail"]]


def test_a_resent_batch_is_written_once(tmp_path):
    c = collector(tmp_path)
    b = Batcher("w1")
    b.write(op(1.0))
    b.sample(0.9, 1.0, 1.1)
    batch = b.take(final=True)
    c.stopping = True
    c.receive("id-1", batch)
    c.receive("id-1", batch)
    assert c.close() == []
    assert len(records(tmp_path, load_history_name("w1"))) == 1


def test_a_worker_whose_final_batch_never_came_makes_the_run_unknown(tmp_path):
    clock = Clock(50.0)
    c = collector(tmp_path, clock)
    c.connected("id-2")
    b = Batcher("w2")
    b.write(op(49.0))
    b.sample(49.0, 49.0, 49.001)
    c.receive("id-2", b.take())
    clock.now = 53.0
    assert c.lost("id-2", "stopped sending heartbeats (missing)")
    assert not c.lost("id-2", "again")  # said once
    c.close()
    (lost,) = marks(tmp_path, MARK_WORKER_LOST)
    assert lost["worker"] == "w2" and lost["mono"] == 53.0
    assert "w2" in lost["detail"] and "missing" in lost["detail"] and "last heard from at mono 50.000" in lost["detail"]
    (gone,) = marks(tmp_path, MARK_RECORDS_LOST)
    assert gone["complete"] is False and "final batch never arrived" in gone["detail"]
    history = load(tmp_path)
    result = ran_as_written(history)
    assert result.verdict == Verdict.UNKNOWN
    assert INTEGRITY_MARKS[MARK_WORKER_LOST] in result.detail and INTEGRITY_MARKS[MARK_RECORDS_LOST] in result.detail


def test_a_worker_that_ends_its_load_unasked_is_lost_though_nothing_is_missing(tmp_path):
    """A worker stopped on its own machine (Ctrl-C) sends its final batch while the load is to go on:
    every record arrived, but the run had less load than written: worker_lost, the run unknown."""
    c = collector(tmp_path)
    b = Batcher("far")
    b.write(op(1.0))
    b.sample(1.0, 1.0, 1.0)
    c.receive("id-1", b.take(final=True))
    assert c.close() == []  # nothing missing
    (lost,) = marks(tmp_path, MARK_WORKER_LOST)
    assert "far" in lost["detail"] and "before the load's end" in lost["detail"]
    assert not marks(tmp_path, MARK_RECORDS_LOST)
    assert ran_as_written(load(tmp_path)).verdict == Verdict.UNKNOWN


def test_records_without_any_clock_sample_are_placed_under_a_clock_unknown_mark(tmp_path):
    c = collector(tmp_path)
    b = Batcher("w1")
    b.write(op(5.0))
    c.stopping = True
    c.receive("id-1", b.take(final=True))
    assert records(tmp_path, load_history_name("w1")) == []  # held until a sample comes
    (problem,) = c.close()
    assert "no clock round trip" in problem
    assert [r["mono"] for r in records(tmp_path, load_history_name("w1"))] == [5.0]
    assert marks(tmp_path, MARK_CLOCK_UNKNOWN)
    assert ran_as_written(load(tmp_path)).verdict == Verdict.UNKNOWN


def test_a_malformed_batch_is_a_mark_not_a_crash(tmp_path):
    c = collector(tmp_path)
    c.receive("id-9", {"worker": "w9", "records": "not a list"})
    c.close()
    details = [m["detail"] for m in marks(tmp_path, MARK_RECORDS_LOST)]
    assert any("w9" not in d and "id-9" in d and "cannot read" in d for d in details)


def test_two_workers_of_one_name_get_two_files(tmp_path):
    c = collector(tmp_path)
    c.stopping = True
    for cid in ("a", "b"):
        b = Batcher("same")
        b.write(op(1.0))
        b.sample(1.0, 1.0, 1.0)
        c.receive(cid, b.take(final=True))
    c.close()
    assert len(records(tmp_path, load_history_name("same"))) == 1
    assert len(records(tmp_path, load_history_name("same-2"))) == 1


# --- a skewed worker clock and the RTO -------------------------------------------------------------

def test_rto_from_a_worker_with_a_skewed_clock_is_right_within_the_bound(tmp_path):
    """The worker's clock is 4321.25 s behind the master's; the round trips have asymmetric legs.
    Corrected, the records give the RTO the master's own clock would have measured, within the
    bound the history states."""
    skew = -4321.25

    def worker_clock(t):  # t: the master's (true) time
        return t + skew

    c = collector(tmp_path)
    b = Batcher("w1")
    # Round trips: (sent at, leg to the master, leg back); the best has legs 2 ms and 1 ms.
    for sent, there, back in [(0.5, 0.004, 0.020), (1.0, 0.002, 0.001), (1.5, 0.030, 0.002)]:
        b.sample(worker_clock(sent), sent + there, worker_clock(sent + there + back))
    outage = (10.0, 17.3)  # the service fails from the fault (at 10.0, master clock) until 17.3
    for i in range(300):
        t = i / 10
        b.write(op(worker_clock(t), FAIL if outage[0] <= t < outage[1] - 1e-9 else OK))
        if i % 50 == 49:
            c.stopping = i == 299
            c.receive("id-1", b.take(final=i == 299))
    assert c.close() == []
    faults = HistoryWriter(history_dir(tmp_path) / FAULTS_HISTORY)
    for step, at in [(INVOKED, 10.0), (INJECT_DONE, 10.0), (HEAL_INVOKED, 25.0), (HEALED, 25.0)]:
        faults.write({"kind": "fault", "id": "f0", "type": "kill", "target": "service=static", "step": step,
                      "wall": 1.7e9 + at, "mono": at})
    for name, at in [(MARK_LOAD_STARTED, 0.0), (MARK_LOAD_STOPPED, 30.0)]:
        faults.write({"kind": "mark", "name": name, "wall": 1.7e9 + at, "mono": at})
    faults.close()

    history = load(tmp_path)
    (window,) = fault_windows(history)
    rto = recovery(list(history.ops), window, consecutive_ok=3).rto_s
    (clock_mark, *_) = marks(tmp_path, MARK_WORKER_CLOCK)
    bound = clock_mark["bound"]
    assert bound == pytest.approx(0.0015)
    assert abs(rto - (outage[1] - outage[0])) <= bound
    assert abs(clock_mark["offset"] - (-skew)) <= bound
    # Uncorrected, the same records would place the whole load 72 minutes before the fault.
    assert all(o.mono > -1 for o in history.ops)


def test_a_worker_recorder_writes_no_file_and_stamps_its_name(tmp_path, monkeypatch):
    """CHAOS_LOAD_ROLE=worker: the records go to the batcher (then to the master), never to a file,
    even with CHAOS_HISTORY_DIR set; each carries the worker's name and the injected clock's time."""
    from chaos.load import recorder

    class Answer:
        status_code, headers, error, text = 200, {}, None, "ok"

        def success(self):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    class Client:
        def request(self, method, path, name=None, catch_response=False, **kwargs):
            return Answer()

    monkeypatch.setenv("CHAOS_HISTORY_DIR", str(tmp_path))
    monkeypatch.setenv(recorder.ROLE_ENV, recorder.ROLE_WORKER)
    monkeypatch.setenv(recorder.WORKER_NAME_ENV, "far/away")
    monkeypatch.setattr(recorder, "_batcher", None)
    monkeypatch.setattr(recorder, "_writer", None)
    monkeypatch.setattr(recorder, "_monotonic", lambda: 5000.0)
    assert recorder.request(Client(), "GET", "/", service="static", op="get") is not None
    assert list(tmp_path.iterdir()) == []
    batch = recorder._batcher.take(final=True)
    (record,) = batch["records"]
    assert record["worker"] == "far-away" and record["mono"] == 5000.0 and batch["sent"] == 1
