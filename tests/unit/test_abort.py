"""abort_if: the format, the pure monitor (exact, on synthetic ops), its wiring in the runner (the
live history read once per tick, the ``aborted`` mark) and the judgement of an aborted run."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from chaos.abort import AbortMonitor
from chaos.analyze import judge_run
from chaos.checks import Verdict
from chaos.checks.judge import judge
from chaos.errors import ExperimentInvalid
from chaos.experiment import AbortCondition, Experiment, FaultSpec, Load, Target
from chaos.history import HistoryWriter, History, Mark, Op, history_dir
from chaos.history import load as load_history
from chaos.loader import json_schema, load_experiment, load_experiment_text, validate_targets
from chaos.reports import render_summary, validate_journal_shape
from chaos.live_tally import LiveTally
from chaos.run_folder import EXPERIMENT, META
from chaos.runner import Run, RunOptions
from chaos.stack import find_stack

ROOT = Path(__file__).resolve().parents[2]
VALID = "name: demo\nstack: dual-site\nload: {users: 20, spawn_rate: 20, duration_s: 60}\n"


def op(service: str, mono: float, outcome: str = "ok", latency: float = 0.0) -> Op:
    return Op(service, "x", outcome, 1_700_000_000.0 + mono, mono, latency)


def monitor(*conditions: AbortCondition, start: float = 100.0) -> AbortMonitor:
    return AbortMonitor(conditions, start)


# The format.


def test_abort_if_loads_each_kind_with_its_defaults():
    experiment = load_experiment_text(VALID + """\
abort_if:
  - {all_services_failing_for_s: 45}
  - {service: payment, failing_for_s: 20}
  - {failing_for_s: 30}
  - {error_ratio_over: 0.9, window_s: 30}
  - {error_ratio_over: 0.5, window_s: 10, service: login, min_requests: 3}
""", "demo.yaml")
    assert experiment.abort_if == (
        AbortCondition(all_services_failing_for_s=45.0, line=5),
        AbortCondition(failing_for_s=20.0, service="payment", line=6),
        AbortCondition(failing_for_s=30.0, line=7),
        AbortCondition(error_ratio_over=0.9, window_s=30.0, min_requests=10, line=8),
        AbortCondition(error_ratio_over=0.5, window_s=10.0, service="login", min_requests=3, line=9),
    )
    assert [c.kind for c in experiment.abort_if] == [
        "all_services_failing_for_s", "failing_for_s", "failing_for_s", "error_ratio_over", "error_ratio_over"]
    assert [c.describe() for c in experiment.abort_if] == [
        "all_services_failing_for_s: 45", "failing_for_s: 20 (payment)", "failing_for_s: 30 (any service)",
        "error_ratio_over: 0.9, window_s: 30", "error_ratio_over: 0.5, window_s: 10 (login)"]


def test_abort_if_is_empty_by_default():
    assert load_experiment_text(VALID, "demo.yaml").abort_if == ()
    assert Experiment.abort_if == ()


def test_every_abort_problem_is_reported_at_once():
    with pytest.raises(ExperimentInvalid) as caught:
        load_experiment_text(VALID + """\
abort_if:
  - {all_services_failing_for_s: -1}
  - {failing_for_s: 10, window: 5}
  - {error_ratio_over: 2, min_requests: 1.5}
""", "demo.yaml")
    assert [(p.line, p.path, p.message) for p in caught.value.problems] == [
        (5, "abort_if[0].all_services_failing_for_s", "must be > 0, got -1"),
        (6, "abort_if[1].window", "unknown key 'window'; did you mean 'window_s'?"),
        (7, "abort_if[2].error_ratio_over", "must be < 1 (a share of the requests), got 2"),
        (7, "abort_if[2].min_requests", "expected an integer, got 1.5"),
    ]


def test_a_condition_needs_exactly_one_kind():
    with pytest.raises(ValueError, match="exactly one"):
        AbortCondition(failing_for_s=3, error_ratio_over=0.5)
    with pytest.raises(ValueError, match="exactly one"):
        AbortCondition()
    with pytest.raises(ValueError, match="takes no service"):
        AbortCondition(all_services_failing_for_s=3, service="login")


def test_validate_targets_names_an_unknown_abort_service():
    experiment = load_experiment_text(VALID + "abort_if:\n  - {failing_for_s: 10, service: paymnet}\n", "demo.yaml")
    (problem,) = validate_targets(experiment, {"pangyo"}, {"login", "payment"})
    assert (problem.line, problem.path) == (5, "abort_if[0].service")
    assert problem.message == "unknown service 'paymnet'; did you mean 'payment'? known: login, payment"


def test_json_schema_has_abort_if():
    schema = json.loads(json.dumps(json_schema()))
    branches = schema["properties"]["abort_if"]["items"]["oneOf"]
    assert [b["title"] for b in branches] == ["all_services_failing_for_s", "failing_for_s", "error_ratio_over"]
    assert branches[2]["properties"]["error_ratio_over"]["exclusiveMaximum"] == 1
    assert branches[2]["properties"]["window_s"]["default"] == 30.0


# The monitor: no ok answer for a while.


def test_all_services_failing_counts_from_the_last_ok_answer():
    m = monitor(AbortCondition(all_services_failing_for_s=5))
    m.extend([op("login", 100.0), op("payment", 109.9, latency=0.1), op("login", 111.0, "fail"),
              op("payment", 112.0, "unknown")])
    assert m.triggered(114.99) is None
    assert m.triggered(115.0) == ("abort_if[0] (all_services_failing_for_s: 5): "
                                  "no request of any service was ok for 5.0 s")


def test_one_service_still_answering_keeps_all_services_failing_off():
    m = monitor(AbortCondition(all_services_failing_for_s=5), AbortCondition(failing_for_s=5, service="payment"))
    m.extend([op("payment", 101.0), *(op("login", t) for t in range(100, 120)), op("payment", 110.0, "fail")])
    assert m.triggered(105.9) is None
    assert m.triggered(106.0) == "abort_if[1] (failing_for_s: 5 (payment)): no request of payment was ok for 5.0 s"


def test_without_any_ok_answer_the_quiet_time_counts_from_the_load_start():
    m = monitor(AbortCondition(all_services_failing_for_s=5))
    assert m.triggered(104.9) is None
    m.add(op("login", 101.0, "fail"))
    assert m.triggered(105.0) == ("abort_if[0] (all_services_failing_for_s: 5): "
                                  "no request of any service was ok for 5.0 s")


def test_a_named_service_without_requests_is_failing_an_unnamed_one_is_not_watched():
    named = monitor(AbortCondition(failing_for_s=5, service="payment"))
    named.extend(op("login", t) for t in range(100, 110))
    assert named.triggered(105.0) == "abort_if[0] (failing_for_s: 5 (payment)): no request of payment was ok for 5.0 s"
    anyone = monitor(AbortCondition(failing_for_s=5))
    anyone.extend(op("login", t) for t in range(100, 110))
    assert anyone.triggered(109.0) is None
    anyone.add(op("payment", 103.0, "fail"))  # seen now: watched from the load's start
    assert anyone.triggered(109.0) == ("abort_if[0] (failing_for_s: 5 (any service)): "
                                       "no request of payment was ok for 9.0 s")


def test_any_service_names_the_one_failing_longest():
    m = monitor(AbortCondition(failing_for_s=3))
    m.extend([op("a", 101.0), op("b", 102.0), op("c", 103.0), op("c", 110.0)])
    assert m.triggered(110.0) == "abort_if[0] (failing_for_s: 3 (any service)): no request of a was ok for 9.0 s"


def test_an_ok_answer_arriving_late_counts_when_it_came_back():
    m = monitor(AbortCondition(all_services_failing_for_s=5))
    m.add(op("login", 108.0, latency=0.5))  # its record arrives with the answer, at 108.5
    m.add(op("login", 104.0))  # an older one read later: does not move the last ok back
    assert m.triggered(113.4) is None
    assert m.triggered(113.5) is not None


def test_a_triggered_monitor_keeps_its_first_reason():
    m = monitor(AbortCondition(all_services_failing_for_s=2), AbortCondition(failing_for_s=1, service="login"))
    first = m.triggered(103.0)
    assert first.startswith("abort_if[0] ")
    m.add(op("login", 103.5))
    assert m.triggered(104.0) == first


# The monitor: the error ratio over a sliding window.


def ramp() -> list[Op]:
    """One op a second from t=0, answered 0.5 s later; ok until t=12, failing from t=12."""
    return [op("login", float(t), "ok" if t < 12 else "fail", latency=0.5) for t in range(20)]


def test_error_ratio_over_the_window_is_exact():
    m = monitor(AbortCondition(error_ratio_over=0.5, window_s=10), start=0.0)
    m.extend(ramp())
    assert m.triggered(16.0) is None  # answers 6.5..15.5: 4 of 10 not ok
    assert m.triggered(17.0) is None  # 5 of 10: not over one half
    assert m.triggered(18.0) == ("abort_if[0] (error_ratio_over: 0.5, window_s: 10): "
                                 "6 of 10 requests not ok in the last 10 s (60%, over 50%)")


def test_error_ratio_waits_for_a_full_window_and_enough_requests():
    early = monitor(AbortCondition(error_ratio_over=0.5, window_s=10, min_requests=1), start=0.0)
    early.extend(op("login", float(t), "fail") for t in range(5))
    assert early.triggered(9.99) is None
    assert early.triggered(10.0) == ("abort_if[0] (error_ratio_over: 0.5, window_s: 10): "
                                     "5 of 5 requests not ok in the last 10 s (100%, over 50%)")
    sparse = monitor(AbortCondition(error_ratio_over=0.5, window_s=10, min_requests=6), start=0.0)
    sparse.extend(op("login", float(t), "fail") for t in range(5))
    assert sparse.triggered(12.0) is None


def test_error_ratio_of_one_service_ignores_the_others_and_counts_unknown_as_not_ok():
    m = monitor(AbortCondition(error_ratio_over=0.25, window_s=5, service="payment", min_requests=4), start=0.0)
    m.extend(op("login", t / 10, "fail") for t in range(60))
    m.extend([op("payment", 1.0), op("payment", 2.0), op("payment", 3.0, "unknown"), op("payment", 4.0)])
    assert m.triggered(5.0) is None  # 1 of 4
    m.add(op("payment", 4.5, "fail"))
    assert m.triggered(5.0) == ("abort_if[0] (error_ratio_over: 0.25, window_s: 5 (payment)): "
                                "2 of 5 requests of payment not ok in the last 5 s (40%, over 25%)")


def test_ops_read_out_of_order_still_slide_out_of_the_window():
    m = monitor(AbortCondition(error_ratio_over=0.5, window_s=10, min_requests=2), start=0.0)
    m.extend([op("login", 15.0), op("login", 1.0, "fail"), op("login", 2.0, "fail"), op("login", 16.0)])
    assert m.triggered(20.0) is None  # the two failures (answered at 1 and 2) are out of [10, 20]


# The live history: read once per tick, every op handed on.


class Collect:
    def __init__(self):
        self.ops: list[Op] = []

    def add(self, op: Op) -> None:
        self.ops.append(op)


def test_live_tally_reads_each_line_once_and_hands_ops_on(tmp_path):
    record = {"kind": "op", "service": "login", "op": "login", "outcome": "ok", "start": 1.0, "mono": 5.0,
              "latency": 0.1, "write_id": None, "status": 200, "error": None, "proc": 1}
    first = json.dumps(record) + "\n" + json.dumps({**record, "outcome": "fail", "mono": 6.0}) + "\n"
    torn = json.dumps({**record, "outcome": "unknown", "mono": 7.0})
    (tmp_path / "load-1.jsonl").write_text(first + "not json\n" + '{"kind": "op"}\n' + torn[:20])
    (tmp_path / "faults.jsonl").write_text('{"kind": "mark", "name": "load_started", "wall": 1, "mono": 1}\n')
    sink = Collect()
    tally = LiveTally(tmp_path, (sink,))
    assert tally.update() == {"ok": 1, "fail": 1, "unknown": 0}
    assert [(o.outcome, o.mono) for o in sink.ops] == [("ok", 5.0), ("fail", 6.0)]
    with open(tmp_path / "load-1.jsonl", "a") as f:
        f.write(torn[20:] + "\n")
    assert tally.update() == {"ok": 1, "fail": 1, "unknown": 1}
    assert [o.outcome for o in sink.ops] == ["ok", "fail", "unknown"]
    assert tally.update() == {"ok": 1, "fail": 1, "unknown": 1}
    assert len(sink.ops) == 3


# The runner: the loop stops on an abort and leaves the mark in the history.


class FakeLocust:
    """The LocustProcess surface ``Run._drive`` uses."""

    def __init__(self, runs_for: int | None = None):
        self.started = self.stops = 0
        self.polls, self.runs_for = 0, runs_for
        self.returncode = None
        self.log_path = "locust.log"

    def start(self) -> None:
        self.started += 1

    def running(self) -> bool:
        self.polls += 1
        return self.runs_for is None or self.polls <= self.runs_for

    def stop(self) -> None:
        self.stops += 1

    def log_tail(self) -> str:
        return ""


class NeverInjected:
    type = "power_cut"
    heal_after_s = None

    def __init__(self):
        self.spec = FaultSpec("power_cut", Target(site="pangyo"), 20.0, {})

    def inject(self) -> str:
        raise AssertionError("an aborted run injects nothing more")

    heal = inject


def drive(tmp_path: Path, experiment: Experiment, locust: FakeLocust, faults=()) -> tuple[Run, History]:
    stack = find_stack("dual-site", ROOT / "stacks")
    run = Run(experiment, stack, RunOptions(runs_dir=tmp_path, out=open(tmp_path / "out.txt", "w")), Path("x.yaml"))
    run.tick_s = 0.05
    directory = history_dir(run.run_dir)
    directory.mkdir(parents=True)
    writer = HistoryWriter(directory / "faults.jsonl")
    run._drive(locust, list(faults), writer)
    writer.close()
    return run, load_history(run.run_dir)


def experiment_with(*abort_if: AbortCondition, duration_s: float = 30.0) -> Experiment:
    return Experiment(name="demo", description="", stack="dual-site", load=Load(duration_s=duration_s), faults=(),
                      checks=(), abort_if=abort_if)


def test_the_runner_stops_the_load_on_an_abort_and_marks_why(tmp_path):
    locust = FakeLocust()
    started = time.monotonic()
    run, history = drive(tmp_path, experiment_with(AbortCondition(all_services_failing_for_s=0.2)), locust,
                         [("f0", NeverInjected())])
    assert time.monotonic() - started < 5
    assert run.aborted.startswith("abort_if[0] (all_services_failing_for_s: 0.2): "
                                  "no request of any service was ok for ")
    assert [m.name for m in history.marks] == ["load_started", "aborted", "load_stopped"]
    assert history.mark("aborted").detail == run.aborted
    assert locust.stops == 1 and run._marked_stop
    assert "[abort] t=" in (tmp_path / "out.txt").read_text()


def test_without_abort_if_the_load_runs_to_its_end(tmp_path):
    run, history = drive(tmp_path, experiment_with(duration_s=0.1), FakeLocust(runs_for=3))
    assert run.aborted is None
    assert [m.name for m in history.marks] == ["load_started", "load_stopped"]


def test_a_load_that_ends_before_its_time_is_marked_so_the_run_is_unknown(tmp_path):
    run, history = drive(tmp_path, experiment_with(duration_s=30.0), FakeLocust(runs_for=3))
    assert [m.name for m in history.marks] == ["load_started", "load_ended_early", "load_stopped"]
    assert "of 30 s" in history.mark("load_ended_early").detail


# Judging: the mark becomes the failing check not_aborted and the journal's "aborted".

REASON = "abort_if[0] (all_services_failing_for_s: 20): no request of any service was ok for 20.0 s"


def aborted_run(tmp_path: Path, mark: bool = True) -> Path:
    run_dir = tmp_path / "run"
    directory = history_dir(run_dir)
    directory.mkdir(parents=True)
    (run_dir / EXPERIMENT).write_text(VALID + "abort_if:\n  - {all_services_failing_for_s: 20}\n")
    (run_dir / META).write_text(json.dumps({
        "run_id": "r1", "stack": "dual-site", "services": ["login"], "started_at": "2024-01-01T00:00:00.000Z",
        "finished_at": "2024-01-01T00:01:00.000Z", "experiment_file": "experiments/demo.yaml"}))
    lines = [{"kind": "mark", "name": "load_started", "wall": 1000.0, "mono": 0.0}]
    lines += [{"kind": "op", "service": "login", "op": "login", "outcome": "ok" if t < 5 else "fail",
               "start": 1000.0 + t, "mono": float(t), "latency": 0.01} for t in range(25)]
    if mark:
        lines.append({"kind": "mark", "name": "aborted", "wall": 1025.0, "mono": 25.0, "detail": REASON})
    lines.append({"kind": "mark", "name": "load_stopped", "wall": 1025.1, "mono": 25.1})
    (directory / "faults.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    return run_dir


def test_an_aborted_run_fails_not_aborted_and_the_journal_says_why(tmp_path):
    journal = judge_run(aborted_run(tmp_path))
    assert journal["aborted"] == REASON
    assert list(journal)[:6] == ["schema", "run_id", "verdict", "expected", "matches_expectation", "aborted"]
    check = next(c for c in journal["checks"] if c["name"] == "not_aborted")
    assert (check["verdict"], check["detail"]) == ("fail", REASON)
    assert journal["verdict"] == "fail" and journal["matches_expectation"] is False
    assert f"the run was aborted: {REASON}" in journal["reasons"]
    assert validate_journal_shape(journal) == []
    text = render_summary(journal, color=False)
    assert f"ABORTED: {REASON}" in text
    assert "FAIL    not_aborted" in text


def test_analyze_reproduces_the_abort_from_the_files_alone(tmp_path):
    run_dir = aborted_run(tmp_path)
    first = judge_run(run_dir)
    shutil.copy(run_dir / "journal.json", tmp_path / "saved.json")
    again = judge_run(run_dir, write=False)
    assert again == first == json.loads((tmp_path / "saved.json").read_text())


def test_a_run_with_abort_if_that_went_to_its_end_passes_not_aborted(tmp_path):
    journal = judge_run(aborted_run(tmp_path, mark=False))
    assert "aborted" not in journal
    check = next(c for c in journal["checks"] if c["name"] == "not_aborted")
    assert check["verdict"] == "pass"
    assert "ABORTED" not in render_summary(journal, color=False)


def test_not_aborted_appears_only_when_it_can_say_something():
    ops = tuple(op("login", float(t)) for t in range(10))
    quiet = History(ops, (), (Mark("load_stopped", 10.0, 10.0),))
    plain = Experiment(name="d", description="", stack="s", load=Load(), faults=(), checks=())
    assert "not_aborted" not in [c.name for c in judge(quiet, plain, ["login"], {}).checks]
    marked = History(ops, (), (Mark("aborted", 9.0, 9.0, "by hand"), Mark("load_stopped", 10.0, 10.0)))
    j = judge(marked, plain, ["login"], {})
    check = next(c for c in j.checks if c.name == "not_aborted")
    assert check.verdict == Verdict.FAIL and j.verdict == Verdict.FAIL
    assert "the run was aborted: by hand" in j.reasons


def test_aborted_shape_is_checked_when_present(tmp_path):
    journal = judge_run(aborted_run(tmp_path), write=False)
    journal["aborted"] = 3
    assert validate_journal_shape(journal) == ["aborted: expected str, got int"]


def test_shipped_site_loss_experiment_has_an_abort_condition():
    experiment = load_experiment(ROOT / "experiments" / "pangyo-site-loss.yaml")
    assert experiment.abort_if == (AbortCondition(all_services_failing_for_s=60.0, line=35),)
