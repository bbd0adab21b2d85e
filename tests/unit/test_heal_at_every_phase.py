"""Every fault is healed whatever stops a run, wherever it stops it (issue 19): an exception, a
KeyboardInterrupt or a real SIGTERM at each phase of a whole run on fakes (tests/unit/fake_run.py:
a fake clock, Docker and load; no real time passes), and the run ends as the harness promises:
a signal is ``Interrupted`` (exit 143; 130 for Ctrl-C) with a run folder that re-judges ``unknown``,
an error escapes after every heal, and nothing that went wrong is ever re-judged a pass."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest

from chaos.analyze import judge_run
from chaos.errors import EXIT_SIGINT, EXIT_SIGTERM, InvalidInput, Interrupted
from chaos.history import load as load_history
from chaos.run_folder import HEALED, INVOKED, MARK_INTERRUPTED

sys.path.insert(0, str(Path(__file__).parent))
import fake_run  # noqa: E402

BEFORE_THE_RUN_FOLDER = ("bring_up", "prepare", "steady_before")  # nothing injected, no folder yet
HISTORY_WHOLE = ("judge", "reports")  # the history and meta.json are complete by then


@pytest.fixture(autouse=True)
def own_lock_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAOS_LOCK_DIR", str(tmp_path / "locks"))


def run_with_trap(tmp_path, monkeypatch, phase: str, kind: str):
    """Execute the fake run with ``kind`` sprung once at ``phase``: (run, events, result or exception)."""
    events = fake_run.Events()
    fake_run.install(monkeypatch.setattr, events, trap=(phase, kind))
    run = fake_run.make_run(tmp_path / "runs")
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        outcome = run.execute()
    except BaseException as e:  # noqa: BLE001 - what escaped is what the test looks at
        outcome = e
    assert events.sprung, f"the run never reached {phase}"
    assert {s: signal.getsignal(s) for s in before} == before  # the run's handlers are gone
    return run, events, outcome


@pytest.mark.parametrize("kind", fake_run.TRAPS)
@pytest.mark.parametrize("phase", fake_run.PHASES)
def test_every_fault_is_healed_whatever_stops_the_run_wherever(tmp_path, monkeypatch, phase, kind):
    run, events, outcome = run_with_trap(tmp_path, monkeypatch, phase, kind)

    # Healed: every fault injected has a heal done after its last attempt, in the history.
    assert events.seen.count("injected") == events.seen.count("healed")
    if phase in BEFORE_THE_RUN_FOLDER:
        assert "injected" not in events.seen and not run.run_dir.exists()
    else:
        steps = {}
        for step in load_history(run.run_dir).faults:
            steps.setdefault(step.id, []).append(step.step)
        if phase != "load_start":  # the load never started: nothing was due
            assert steps and all(s[0] == INVOKED and s[-1] == HEALED for s in steps.values()), steps
        assert run.active == []

    # How the run ends.
    if kind in ("sigterm", "keyboard_interrupt"):
        assert isinstance(outcome, Interrupted)
        assert outcome.exit_code == (EXIT_SIGTERM if kind == "sigterm" else EXIT_SIGINT)
    elif phase == "inject":  # recorded as a failed injection: the run is judged, unknown
        journal, code = outcome
        assert journal["verdict"] == "unknown" and code == 3
    elif phase in ("heal", "reports"):  # a heal that failed once and held on its retry; a report not written
        journal, code = outcome
        assert (journal["verdict"], code) == ("pass", 0)
    else:
        assert isinstance(outcome, fake_run.TrapSprung)

    # Re-judged later (`analyze`), a run cut short is never a pass.
    if phase in BEFORE_THE_RUN_FOLDER or phase in HISTORY_WHOLE:
        return
    if kind == "exception" and phase not in ("inject", "heal"):
        with pytest.raises(InvalidInput, match="meta.json"):  # not a run folder anyone can judge
            judge_run(run.run_dir, write=False)
        return
    journal = judge_run(run.run_dir, write=False)
    if kind == "exception":
        assert journal["verdict"] == ("unknown" if phase == "inject" else "pass")
    else:
        assert journal["verdict"] == "unknown"
        assert any(m.name == MARK_INTERRUPTED for m in load_history(run.run_dir).marks)


def test_the_fakes_have_the_interfaces_of_the_real_collaborators():
    from chaos.clock import SystemClock
    from chaos.experiment import Load
    from chaos.load.locust_process import LocustProcess
    from chaos.load.process import LoadProcess

    members = {"start", "running", "stop", "returncode", "log_tail", "log_path"}
    assert members <= set(dir(LoadProcess)) | set(LoadProcess.__annotations__)
    args = (Path("w.py"), "http://127.0.0.1:1", Load(1, 1, 1), Path("h"), Path("l"))
    for load in (LocustProcess(*args), fake_run.FakeLocust(*args, run_time_s=2.0)):
        assert all(hasattr(load, m) for m in members), type(load).__name__
        assert load.returncode is None and not load.running()
    assert all(hasattr(fake_run.FakeClock(), m) for m in ("monotonic", "wall", "sleep"))
    assert all(hasattr(SystemClock, m) for m in ("monotonic", "wall", "sleep"))


def test_a_run_keeps_the_time_of_the_clock_it_is_given(tmp_path, monkeypatch):
    # Everything the run stamps (its load's timeline, the fault's steps, the marks, the folder's
    # name) comes from its clock: on the fake one, the 2 s load lasts 2 s to the tick, at once.
    events = fake_run.Events()
    clock = fake_run.install(monkeypatch.setattr, events)
    start = clock.monotonic()
    journal, code = fake_run.make_run(tmp_path / "runs").execute()
    assert code == 0
    history = load_history(tmp_path / "runs" / journal["run_id"])
    started, stopped = history.mark("load_started").mono, history.mark("load_stopped").mono
    assert started >= start and stopped - started == pytest.approx(2.0, abs=0.051)
    (invoked,) = [s for s in history.faults if s.step == INVOKED]
    assert invoked.mono - started == pytest.approx(0.3, abs=0.051)
    assert journal["run_id"].startswith("20251130T")  # the fake wall clock's day
