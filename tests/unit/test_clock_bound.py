"""Issue 16: no time of a run is reported finer than its load workers' clock bound. The bound travels
in the ``worker_clock`` marks (parsed into ``history.Mark``), the journal lists each worker's, a
threshold on a time whose figure lies within the bound of its limit is ``unknown``, and an RTO reads
``3.0 ± 0.4`` when the bound is coarser than the reports' 0.1 s."""

from __future__ import annotations

import dataclasses
import math

import pytest

from chaos.checks import Verdict
from chaos.checks.clocks import clock_bound, rto_step, undecided, worker_clocks
from chaos.checks.judge import judge
from chaos.errors import InvalidInput
from chaos.experiment import Threshold
from chaos.history import HistoryWriter, Mark, load, record_of
from chaos.reports.journal import build_journal, validate_journal_shape
from chaos.reports.story import one_line, rto_text
from chaos.run_folder import KIND_MARK, MARK_WORKER_CLOCK, MASTER_HISTORY, history_dir
from test_checks import experiment, fault, history, timeline

WALL = 1_700_000_000.0


def clock_mark(worker: str, bound: float | None, offset: float = 12.5, mono: float = 50.0) -> Mark:
    return Mark(MARK_WORKER_CLOCK, WALL + mono, mono, f"worker {worker}", worker=worker, offset=offset, bound=bound)


def with_clocks(h, *marks: Mark):
    return dataclasses.replace(h, marks=h.marks + marks)


def outage_run(fails_until: float, *marks: Mark, threshold: Threshold = Threshold("rto_s", "<=", 10)):
    ops = timeline("login", 40.0, lambda t: "fail" if 15.0 <= t < fails_until else "ok")
    h = with_clocks(history(ops, fault("f0", 15.0, 35.0)), *marks)
    return h, judge(h, experiment(threshold), ["login"], readback={})


def test_a_worker_clock_mark_keeps_its_worker_offset_and_bound():
    m = record_of({"kind": KIND_MARK, "name": MARK_WORKER_CLOCK, "wall": WALL, "mono": 1.0, "detail": "",
                   "worker": "w1", "offset": -3.25, "bound": 0.0015, "samples": 7})
    assert (m.worker, m.offset, m.bound) == ("w1", -3.25, 0.0015)
    plain = record_of({"kind": KIND_MARK, "name": "load_started", "wall": WALL, "mono": 1.0})
    assert (plain.worker, plain.offset, plain.bound) == (None, None, None)


def test_a_bound_that_is_not_a_number_is_named(tmp_path):
    d = history_dir(tmp_path)
    d.mkdir(parents=True)
    w = HistoryWriter(d / MASTER_HISTORY)
    w.write({"kind": KIND_MARK, "name": MARK_WORKER_CLOCK, "wall": WALL, "mono": 1.0, "worker": "w1",
             "bound": "0.1"})
    w.close()
    with pytest.raises(InvalidInput, match=r"master\.jsonl.*bound: expected a finite number or null"):
        load(tmp_path)


def test_each_workers_largest_bound_and_last_offset():
    h = with_clocks(history([]), clock_mark("w1", 0.002, offset=1.0, mono=1.0), clock_mark("w2", 0.004, mono=2.0),
                    clock_mark("w1", 0.003, offset=1.1, mono=30.0))
    assert worker_clocks(h) == {"w1": {"offset_s": 1.1, "bound_s": 0.003}, "w2": {"offset_s": 12.5, "bound_s": 0.004}}
    assert clock_bound(h) == 0.004
    assert clock_bound(history([])) == 0.0
    assert clock_bound(with_clocks(history([]), clock_mark("w1", None))) == math.inf


def test_the_display_step_is_a_tenth_or_the_bound_rounded_up():
    assert rto_step(None) == rto_step(0.0) == rto_step(0.1) == 0.1
    assert rto_step(0.12) == pytest.approx(0.2) and rto_step(0.4) == pytest.approx(0.4)
    assert rto_step(math.inf) == math.inf


def test_a_figure_within_the_bound_of_the_limit_is_undecided():
    holds = Threshold("rto_s", "<=", 10).holds
    assert undecided(holds, 9.95, 0.1) and undecided(holds, 10.05, 0.1)
    assert not undecided(holds, 9.85, 0.1) and not undecided(holds, 10.2, 0.1)
    assert not undecided(Threshold("rto_s", "<=", 0).holds, 0.0, 0.5)  # no failure: exact
    assert not undecided(holds, 9.99, 0.0)  # one process: no bound


def test_an_rto_within_the_bound_of_its_limit_is_unknown_not_a_pass():
    h, j = outage_run(24.9, clock_mark("w1", 0.002), clock_mark("w2", 0.3))
    (rto,) = [c for c in j.checks if c.name == "rto_s[login]"]
    assert j.services["login"].rto_s == pytest.approx(9.9)
    assert rto.verdict == Verdict.UNKNOWN and j.verdict == Verdict.UNKNOWN
    assert "within the load workers' clock bound (±0.300 s) of rto_s <= 10" in rto.reason
    # The same run on one process (no worker clocks) passes: the rule costs nothing there.
    _, one = outage_run(24.9)
    assert one.verdict == Verdict.PASS


def test_an_rto_clear_of_its_limit_passes_and_says_the_bound_when_coarse():
    h, j = outage_run(18.0, clock_mark("w1", 0.35))
    (rto,) = [c for c in j.checks if c.name == "rto_s[login]"]
    assert rto.verdict == Verdict.PASS and rto.detail.endswith("(±0.4 s: the load workers' clock bound)")
    _, fine = outage_run(18.0, clock_mark("w1", 0.002))
    (rto_fine,) = [c for c in fine.checks if c.name == "rto_s[login]"]
    assert rto_fine.verdict == Verdict.PASS and "clock bound" not in rto_fine.detail


def journal_of(h, j) -> dict:
    return build_journal(experiment(Threshold("rto_s", "<=", 10)), j, stack="dual-site",
                         started_at="2023-11-14T22:13:20.000Z", finished_at="2023-11-14T22:14:20.000Z",
                         history=h, run_id="r", environment={})


def test_the_journal_lists_each_workers_clock_and_the_rto_reads_plus_minus_the_bound():
    h, j = outage_run(18.0, clock_mark("w1", 0.002), clock_mark("w2", 0.35))
    journal = journal_of(h, j)
    assert validate_journal_shape(journal) == []
    assert journal["clocks"] == {"w1": {"offset_s": 12.5, "bound_s": 0.002}, "w2": {"offset_s": 12.5, "bound_s": 0.35}}
    assert rto_text(journal, journal["services"]["login"]) == "3.0 ± 0.4"
    assert "back after 3.0 ± 0.4 s" in one_line(journal)


def test_a_fine_bound_changes_nothing_shown_and_one_process_has_no_clocks():
    h, j = outage_run(18.0, clock_mark("w1", 0.002))
    journal = journal_of(h, j)
    assert rto_text(journal, journal["services"]["login"]) == "3.0"
    h1, j1 = outage_run(18.0)
    assert "clocks" not in journal_of(h1, j1)


def test_the_summary_lists_each_workers_bound():
    from chaos.reports.summary import render_summary

    h, j = outage_run(18.0, clock_mark("w1", 0.002), clock_mark("far", None))
    text = render_summary(journal_of(h, j), color=False)
    assert "  w1: ±2.000 ms" in text and "  far: ±unknown" in text
    h1, j1 = outage_run(18.0)
    assert "load workers' clocks" not in render_summary(journal_of(h1, j1), color=False)
