"""Game day in the runner, without Docker: the schedule keeps the plan's relative timing when the
facilitator holds a step, the load runs until the shifted end, and the abort key heals at once.
The runner's loop runs for real (``Run._drive``) against a fake Locust and fake faults."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from chaos.experiment import Experiment, FaultSpec, Load, Target
from chaos.gate import FACILITATOR_ABORT, Answer, LiveStatus
from chaos.history import HistoryWriter, history_dir
from chaos.history import load as load_history
from chaos.load.locust_process import LocustProcess
from chaos.live_tally import LiveTally
from chaos.runner import Run, RunOptions
from chaos.schedule import HEAL, INJECT, LOAD, Schedule, Step, steps_of
from chaos.stack import find_stack

ROOT = Path(__file__).resolve().parents[2]


class FakeFault:
    heal_verb = "healed"

    def __init__(self, at_s: float, lasts_s: float | None, type: str = "pause", log: list | None = None):
        self.type = type
        self.spec = FaultSpec(type, Target(service="truth-8s"), at_s, {})
        self.heal_after_s = lasts_s
        self.log = log if log is not None else []

    def inject(self) -> str:
        self.log.append(("inject", self.type, time.monotonic()))
        return "injected"

    def heal(self) -> str:
        self.log.append(("heal", self.type, time.monotonic()))
        return "healed"


# The schedule alone (pure).


def test_steps_in_order_injections_first_at_the_same_offset():
    a, b, c = FakeFault(10, 20), FakeFault(30, None), FakeFault(5, 25)
    steps = steps_of([("f0", a), ("f1", b), ("f2", c)])
    assert [(s.at_s, s.action, s.fault_id) for s in steps] == [
        (5, INJECT, "f2"), (10, INJECT, "f0"), (30, INJECT, "f1"), (30, HEAL, "f0"), (30, HEAL, "f2")]
    assert steps[0].describe() == "f2 pause on service=truth-8s"
    assert steps[3].describe() == "f0 healed (end of pause on service=truth-8s)"
    assert Step(0.0, LOAD).describe() == "start the load"


def test_without_a_hold_every_step_runs_at_its_planned_offset_whatever_its_lateness():
    schedule = Schedule(steps_of([("f0", FakeFault(10, 20))]), 60.0)
    assert schedule.due(9.99) is None
    assert schedule.due(10.0).action == INJECT
    schedule.fire(12.5)  # late by a slow loop turn: shifts nothing
    assert schedule.due(29.9) is None and schedule.due(30.0).action == HEAL
    assert schedule.end(30.0) == 60.0


def test_a_held_step_shifts_every_later_step_and_the_end_by_the_hold():
    schedule = Schedule(steps_of([("f0", FakeFault(10, 20)), ("f1", FakeFault(15, None))]), 60.0)
    schedule.hold(10.0)
    schedule.hold(11.0)  # still held since 10
    assert schedule.delay(13.0) == 3.0 and schedule.end(13.0) == 63.0
    assert schedule.due(13.0).fault_id == "f0"  # still due while held
    schedule.fire(14.0)
    assert schedule.shift_s == 4.0
    assert schedule.due(18.9) is None and schedule.due(19.0).fault_id == "f1"  # 15 + 4
    schedule.fire(19.0)
    assert schedule.next_at() == 34.0  # f0's heal: 30 + 4, still 20 s after its injection
    schedule.hold(34.0)
    schedule.fire(36.5)
    assert schedule.shift_s == 6.5 and schedule.end(40.0) == 66.5
    assert schedule.next_at() is None and [s.fault_id for s in schedule.fired] == ["f0", "f1", "f0"]


# The runner's loop with a gate.


class FakeLocust:
    """Runs until stopped (a game day's Locust runs longer than the load)."""

    def __init__(self):
        self.started = self.stopped = None
        self.returncode = None
        self.log_path = "locust.log"

    def start(self) -> None:
        self.started = time.monotonic()

    def running(self) -> bool:
        return self.started is not None and self.stopped is None

    def stop(self) -> None:
        if self.started is not None and self.stopped is None:
            self.stopped = time.monotonic()


class ScriptedGate:
    """Holds each step for ``hold_s[i]`` seconds after it first came due; aborts once ``abort_when``
    (live, due) says so."""

    def __init__(self, hold_s=(), abort_when=None):
        self.hold_s = list(hold_s)
        self.abort_when = abort_when
        self.first_due: dict[Step, float] = {}
        self.lives: list[LiveStatus] = []
        self.began = self.ended = False

    def begin(self, writer) -> None:
        self.began = True
        self.writer = writer

    def poll(self, live: LiveStatus, due: Step | None) -> Answer:
        self.lives.append(live)
        if self.abort_when and self.abort_when(live, due):
            return Answer.ABORT
        if due is None:
            return Answer.WAIT
        since = self.first_due.setdefault(due, time.monotonic())
        hold = self.hold_s[len(self.first_due) - 1] if len(self.first_due) <= len(self.hold_s) else 0.0
        return Answer.GO if time.monotonic() - since >= hold else Answer.WAIT

    def end(self) -> None:
        self.ended = True


def drive(tmp_path: Path, faults, duration_s: float, gate) -> tuple[Run, FakeLocust]:
    experiment = Experiment(name="gd", description="", stack="ground-truth", load=Load(duration_s=duration_s),
                            faults=tuple(f.spec for _, f in faults), checks=())
    run = Run(experiment, find_stack("ground-truth", ROOT / "stacks"),
              RunOptions(runs_dir=tmp_path, out=open(tmp_path / "out.txt", "w"), gate=gate), Path("x.yaml"))
    run.tick_s = 0.05
    directory = history_dir(run.run_dir)
    directory.mkdir(parents=True)
    writer = HistoryWriter(directory / "faults.jsonl")
    locust = FakeLocust()
    run._drive(locust, list(faults), writer)
    writer.close()
    return run, locust


def test_a_held_injection_shifts_its_heal_and_the_end_of_the_load(tmp_path):
    log: list = []
    fault = FakeFault(0.2, 0.3, log=log)
    gate = ScriptedGate(hold_s=(0.25, 0.5, 0.0))  # the load's go, then the injection, then the heal
    run, locust = drive(tmp_path, [("f0", fault)], 1.0, gate)
    history = load_history(run.run_dir)
    t0 = history.mark("load_started").mono
    (inject,), (heal,) = ([e[2] for e in log if e[0] == k] for k in ("inject", "heal"))
    assert locust.started - gate.first_due[Step(0.0, LOAD)] == pytest.approx(0.25, abs=0.15)
    assert inject - t0 == pytest.approx(0.2 + 0.5, abs=0.15)  # held 0.5 s
    assert heal - inject == pytest.approx(0.3, abs=0.15)  # the relative timing is kept
    # Locust runs on past its planned 1 s, until the runner stops it at the shifted end.
    assert history.mark("load_stopped").mono - t0 == pytest.approx(1.0 + 0.5, abs=0.2)
    assert locust.stopped - t0 == pytest.approx(1.5, abs=0.2)
    assert run.aborted is None and [s.step for s in history.faults] == ["invoked", "done", "heal_invoked", "healed"]
    assert gate.began and any(live.delay_s >= 0.5 and live.end_s >= 1.5 for live in gate.lives)
    assert {live.phase for live in gate.lives} >= {"before the load", "steady", "fault", "after heal"}


def test_the_abort_key_heals_every_fault_at_once_and_the_plan_stops(tmp_path):
    log: list = []
    faults = [("f0", FakeFault(0.1, None, "kill", log)), ("f1", FakeFault(0.2, 30.0, "pause", log)),
              ("f2", FakeFault(0.6, None, "latency", log))]
    gate = ScriptedGate(abort_when=lambda live, due: len(live.active) == 2)
    started = time.monotonic()
    run, locust = drive(tmp_path, faults, 20.0, gate)
    assert time.monotonic() - started < 2
    history = load_history(run.run_dir)
    assert run.aborted == FACILITATOR_ABORT == "aborted by the facilitator"
    assert history.mark("aborted").detail == FACILITATOR_ABORT
    assert [m.name for m in history.marks] == ["load_started", "aborted", "load_stopped"]
    # Both active faults were healed right after the mark, before the load stopped; f2 never came.
    assert [(k, t) for k, t, _ in log] == [("inject", "kill"), ("inject", "pause"), ("heal", "pause"),
                                            ("heal", "kill")]
    healed = [s for s in history.faults if s.step == "healed"]
    assert {s.id for s in healed} == {"f0", "f1"} and run.active == []
    aborted = history.mark("aborted").mono
    assert all(aborted <= s.mono <= history.mark("load_stopped").mono for s in healed)


def test_an_abort_before_the_load_starts_nothing(tmp_path):
    log: list = []
    gate = ScriptedGate(abort_when=lambda live, due: due is not None and due.action == LOAD)
    run, locust = drive(tmp_path, [("f0", FakeFault(0.1, None, log=log))], 5.0, gate)
    assert locust.started is None and log == []
    assert run.aborted == FACILITATOR_ABORT
    assert [m.name for m in load_history(run.run_dir).marks] == ["aborted"]


def test_a_game_day_starts_locust_for_longer_than_the_load():
    load = Load(users=5, spawn_rate=5, duration_s=30)
    plain = LocustProcess(Path("w.py"), "http://x", load, Path("h"), Path("l"))
    longer = LocustProcess(Path("w.py"), "http://x", load, Path("h"), Path("l"), run_time_s=30 + 4 * 3600)
    assert plain.cmd[plain.cmd.index("-t") + 1] == "30s"
    assert longer.cmd[longer.cmd.index("-t") + 1] == "14430s"


def test_live_tally_counts_per_service_and_over_the_last_seconds(tmp_path):
    import json

    def op(service, mono, outcome):
        return json.dumps({"kind": "op", "service": service, "op": "x", "outcome": outcome, "start": 1.0,
                           "mono": mono, "latency": 0.5, "write_id": None, "status": 200, "error": None}) + "\n"

    (tmp_path / "load-1.jsonl").write_text(op("a", 1.0, "ok") + op("a", 8.0, "fail") + op("b", 9.0, "ok")
                                           + op("b", 2.0, "unknown"))
    tally = LiveTally(tmp_path, recent_s=5.0)
    assert tally.update() == {"ok": 2, "fail": 1, "unknown": 1}
    assert tally.by_service == {"a": {"ok": 1, "fail": 1, "unknown": 0}, "b": {"ok": 1, "fail": 0, "unknown": 1}}
    # answered at mono + latency: a 8.5 fail, b 9.5 ok; the others are older than 10 - 5
    assert tally.recent(10.0) == {"a": {"ok": 0, "fail": 1, "unknown": 0}, "b": {"ok": 1, "fail": 0, "unknown": 0}}
    assert tally.recent(14.0) == {"a": {"ok": 0, "fail": 0, "unknown": 0}, "b": {"ok": 1, "fail": 0, "unknown": 0}}
    with pytest.raises(ValueError):
        LiveTally(tmp_path).recent(10.0)


def test_a_heal_planned_at_the_end_of_the_load_is_left_to_the_final_heal(tmp_path):
    log: list = []
    gate = ScriptedGate()
    run, locust = drive(tmp_path, [("f0", FakeFault(0.1, 0.4, log=log))], 0.5, gate)
    assert [k for k, _, _ in log] == ["inject"]  # no go asked for the heal at t=0.5: the load ended
    assert [s.action for s in gate.first_due] == [LOAD, INJECT]
    assert run.active  # healed by execute's finally, as without a game day


class CrashedLocust(FakeLocust):
    """Exits with 1 at once, recording nothing (a workload that raises at import)."""

    def __init__(self, log_path: Path):
        super().__init__()
        self.log_path = log_path
        self.returncode = 1

    def running(self) -> bool:
        return False

    def log_tail(self) -> str:
        return "ValueError: CHAOS_LOAD_MIX: weight of 'send' must be a whole number >= 0, got -1"


def test_a_load_that_dies_before_its_first_request_is_an_environment_error_not_a_verdict(tmp_path):
    from chaos.errors import EnvironmentProblem

    experiment = Experiment(name="gd", description="", stack="ground-truth", load=Load(duration_s=1.0),
                            faults=(), checks=())
    run = Run(experiment, find_stack("ground-truth", ROOT / "stacks"),
              RunOptions(runs_dir=tmp_path, out=open(tmp_path / "out.txt", "w")), Path("x.yaml"))
    history_dir(run.run_dir).mkdir(parents=True)
    writer = HistoryWriter(history_dir(run.run_dir) / "faults.jsonl")
    with pytest.raises(EnvironmentProblem, match="(?s)Locust exited with 1 before recording a request.*CHAOS_LOAD_MIX"):
        run._drive(CrashedLocust(tmp_path / "locust.log"), [], writer)
    writer.close()
