"""The runner as a measuring instrument (issue 14): no verdict for what did not happen, heal first
and log second, signals at every phase, one run per stack, run folders that never collide.

``Run.execute`` runs whole, with fakes of the real interfaces in place of Docker, Locust and the
stack (tests/unit/fake_run.py); the signal tests run it in a process of its own and send it a real
SIGTERM or SIGINT."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import chaos.history as history_mod
from chaos.errors import EXIT_ENVIRONMENT, EXIT_SIGINT, EXIT_SIGTERM, EnvironmentProblem
from chaos.history import HistoryWriter, load as load_history
from chaos.lock import StackLock

sys.path.insert(0, str(Path(__file__).parent))
import fake_run  # noqa: E402

FAKE_RUN = Path(fake_run.__file__)


@pytest.fixture(autouse=True)
def own_lock_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAOS_LOCK_DIR", str(tmp_path / "locks"))


@pytest.fixture
def events(monkeypatch):
    seen = fake_run.Events()
    fake_run.install(monkeypatch.setattr, seen)
    monkeypatch.setattr(fake_run.FakeFault, "inject_error", None)
    monkeypatch.setattr(fake_run.FakeFault, "on_inject", staticmethod(lambda: None))
    return seen


def with_file(run, text: str):
    """The same run, loaded from an experiment file that says ``text`` (copied into its folder)."""
    run.source.write_text(text)
    return fake_run.again(run)


# --- a fault that never landed -----------------------------------------------------------------

def test_a_failed_injection_is_healed_and_the_run_is_unknown_with_exit_3(tmp_path, events, monkeypatch):
    monkeypatch.setattr(fake_run.FakeFault, "inject_error", RuntimeError("unknown signal SIGKIL"))
    journal, code = fake_run.make_run(tmp_path / "runs").execute()
    assert events.seen.count("healed") == 1
    assert journal["verdict"] == "unknown" and code == EXIT_ENVIRONMENT
    assert journal["reasons"][0] == ("the experiment did not run as written: f0 kill service=truth-3s: "
                                     "injection failed: unknown signal SIGKIL")
    assert journal["checks"][0]["name"] == "ran_as_written"


def test_the_same_run_with_its_fault_landed_passes(tmp_path, events):
    journal, code = fake_run.make_run(tmp_path / "runs").execute()
    assert events.seen == ["injected", "healed", "phase recovery", "phase read_back"]
    assert journal["verdict"] == "pass" and code == 0


class AbortAtOnce:
    """A game day's facilitator who aborts before the load's go."""

    def begin(self, writer):
        pass

    def poll(self, live, due):
        from chaos.gate import Answer

        return Answer.ABORT

    def end(self):
        pass


def test_a_game_day_aborted_before_the_load_is_never_an_expected_fail(tmp_path, events):
    # Nothing ran, nothing was injected: history_not_empty and not_aborted fail, and on a stack
    # expected to fail that was an "as expected" exit 0.
    from dataclasses import replace

    run = fake_run.make_run(tmp_path / "runs")
    run.experiment = replace(run.experiment, expect="fail")
    run = with_file(run, fake_run.EXPERIMENT_YAML + "expect: fail\n")
    run.opts.gate = AbortAtOnce()
    journal, code = run.execute()
    assert events.seen[:1] != ["injected"]
    assert journal["expected"] == "fail"
    assert journal["verdict"] == "unknown" and code == EXIT_ENVIRONMENT
    assert "the load recorded no request" in journal["reasons"][0]


def test_a_fault_whose_time_came_after_the_load_had_ended_is_not_injected_into_no_load(tmp_path, events,
                                                                                       monkeypatch):
    # f0's scheduled heal (a site_loss rebuild, say) holds the loop past the load's end; f1, due at
    # 1 s, was then injected with no request left to see it: its window held no op, RTO 0, a PASS.
    from dataclasses import replace

    from chaos.experiment import FaultSpec, Target

    class SlowHeal(fake_run.FakeFault):
        @property
        def heal_after_s(self):
            return self.spec.params.get("heal_after_s")

        def heal(self):
            if self.spec.params.get("heal_after_s") is not None:
                fake_run.CLOCK.sleep(2.5)  # past the 2 s load
            return super().heal()

    import chaos.runner as runner

    monkeypatch.setattr(runner, "IMPLEMENTATIONS", {"kill": SlowHeal})
    run = fake_run.make_run(tmp_path / "runs")
    run.experiment = replace(run.experiment, faults=(
        FaultSpec("kill", Target(service="truth-3s"), 0.2, {"heal_after_s": 0.1}),
        FaultSpec("kill", Target(service="truth-3s"), 1.0)))
    run = with_file(run, fake_run.EXPERIMENT_YAML + "  - {type: kill, target: {service: truth-3s}, at_s: 1.0}\n")
    journal, code = run.execute()
    assert events.seen.count("injected") == 1  # f1 never landed in a run with no load
    assert journal["verdict"] == "unknown" and code == EXIT_ENVIRONMENT
    assert "f1 kill service=truth-3s" in journal["reasons"][0]


class BrokenOutput:
    """The run's output stream once its reader is gone (``| head``, a dropped ssh session's tty):
    every write raises, as a pipe with no reader (EPIPE) or a hung-up terminal (EIO) does."""

    def __init__(self):
        self.broken = False

    def write(self, text):
        if self.broken:
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")
        return len(text)

    def flush(self):
        if self.broken:
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")


def test_an_output_that_breaks_during_the_fault_still_heals_every_fault(tmp_path, events, monkeypatch):
    # Progress lines are not the measurement: a broken pipe in `say` made _inject record a landed
    # fault as inject_failed, then escaped _heal (after recording a successful heal as heal_failed)
    # and _heal_all, so the faults after the first were never healed.
    from dataclasses import replace

    from chaos.experiment import FaultSpec, Target

    out = BrokenOutput()
    monkeypatch.setattr(fake_run.FakeFault, "on_inject", staticmethod(lambda: setattr(out, "broken", True)))
    run = fake_run.make_run(tmp_path / "runs", out=out)
    run.experiment = replace(run.experiment, faults=(FaultSpec("kill", Target(service="truth-3s"), 0.2),
                                                     FaultSpec("kill", Target(service="truth-3s"), 0.3)))
    run = with_file(run, fake_run.EXPERIMENT_YAML + "  - {type: kill, target: {service: truth-3s}, at_s: 0.4}\n")
    journal, code = run.execute()
    assert events.seen.count("injected") == 2 and events.seen.count("healed") == 2
    steps = [(f.id, f.step) for f in load_history(run.run_dir).faults]
    assert ("f0", "inject_failed") not in steps and ("f0", "heal_failed") not in steps
    assert journal["verdict"] == "pass" and code == 0


# --- heal first, log second --------------------------------------------------------------------

class FlakyDisk:
    """``os.write`` as seen by the history writer: once ``full`` is set, each write puts at most
    ``room`` bytes on disk (a line cut in the middle, as a filling disk does), then ENOSPC."""

    def __init__(self):
        self.full = False
        self.room = 0
        self.real = os.write

    def write(self, fd, data):
        if not self.full:
            return self.real(fd, data)
        if self.room > 0:
            n = self.real(fd, data[:self.room])
            self.room -= n
            return n
        raise OSError(errno.ENOSPC, "No space left on device")


def test_the_writer_keeps_what_the_disk_refuses_and_never_tears_a_line(tmp_path, monkeypatch):
    disk = FlakyDisk()
    monkeypatch.setattr(history_mod.os, "write", disk.write)
    warned = []
    w = HistoryWriter(tmp_path / "h.jsonl", on_error=warned.append)
    w.mark("one")
    disk.full, disk.room = True, 10
    w.mark("two")  # 10 bytes of it reach the disk, then the disk is full
    w.mark("three")
    assert w.unwritten == 2 and len(warned) == 1 and warned[0].errno == errno.ENOSPC
    disk.full = False  # space again
    assert w.close() is True and w.unwritten == 0
    records = [json.loads(line) for line in (tmp_path / "h.jsonl").read_text().splitlines()]
    assert [r["name"] for r in records] == ["one", "two", "three"]


def test_a_record_written_after_close_is_an_error_not_a_silent_loss(tmp_path):
    w = HistoryWriter(tmp_path / "h.jsonl")
    w.mark("one")
    assert w.close() is True and w.error is None
    w.mark("late")
    assert w.unwritten == 1 and w.error is not None and "after" in str(w.error)


def test_a_full_disk_during_the_fault_still_heals_and_the_run_is_unknown_naming_the_disk(
        tmp_path, events, monkeypatch):
    disk = FlakyDisk()
    monkeypatch.setattr(history_mod.os, "write", disk.write)
    monkeypatch.setattr(fake_run.FakeFault, "on_inject", staticmethod(lambda: setattr(disk, "full", True)))
    real_release = history_mod.DiskReserve.release

    def release(self):  # giving the reserve back is what makes room again
        real_release(self)
        disk.full = False

    monkeypatch.setattr(history_mod.DiskReserve, "release", release)
    out = tmp_path / "out.txt"
    run = fake_run.make_run(tmp_path / "runs", out=open(out, "w"))
    journal, code = run.execute()
    assert events.seen.count("healed") == 1
    assert journal["verdict"] == "unknown" and code == EXIT_ENVIRONMENT
    assert "the history could not be written as the run went" in journal["reasons"][0]
    assert str(history_mod.history_dir(run.run_dir)) in journal["reasons"][0]
    assert "No space left on device" in journal["reasons"][0]
    steps = [f.step for f in load_history(run.run_dir).faults]
    assert steps == ["invoked", "done", "heal_invoked", "healed"]  # kept in memory, written after
    assert "[history] WARNING: cannot write" in out.read_text()
    assert not (run.run_dir / history_mod.DiskReserve.NAME).exists()


def test_a_disk_that_stays_full_still_heals_and_ends_in_an_environment_error(tmp_path, events, monkeypatch):
    disk = FlakyDisk()
    monkeypatch.setattr(history_mod.os, "write", disk.write)
    monkeypatch.setattr(fake_run.FakeFault, "on_inject", staticmethod(lambda: setattr(disk, "full", True)))
    with pytest.raises(EnvironmentProblem, match="the run cannot be judged: .* could not be written .* "
                                                 "Every fault was healed"):
        fake_run.make_run(tmp_path / "runs").execute()
    assert events.seen.count("healed") == 1


@pytest.mark.parametrize("where", ["read_back", "journal"])
def test_a_disk_full_again_after_the_history_is_an_environment_problem_never_a_traceback(
        tmp_path, events, monkeypatch, where):
    # readback.json, invariants.json and journal.json were written with no guard: ENOSPC there
    # escaped as a raw OSError, a traceback and Python's exit 1, the code of "a check failed".
    import chaos.analyze
    import chaos.runner as runner

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    if where == "read_back":
        monkeypatch.setattr(runner.Run, "_read_back", full)
    else:
        monkeypatch.setattr(chaos.analyze, "write_journal", full)
    with pytest.raises(EnvironmentProblem, match="No space left on device.*every heal has run"):
        fake_run.make_run(tmp_path / "runs").execute()
    assert events.seen.count("healed") == 1


def test_a_run_that_ends_in_an_error_gives_its_reserved_space_back(tmp_path, events, monkeypatch):
    # Locust dies before a single request: EnvironmentProblem. The 4 MiB reserve stayed behind in
    # the run folder (one per failed run, on the disk that was running out).
    class DeadLocust(fake_run.FakeLocust):
        def start(self):
            super().start()
            self.returncode = 1

        def running(self):
            return False

    run = fake_run.make_run(tmp_path / "runs", load_process=DeadLocust)
    with pytest.raises(EnvironmentProblem, match="before recording a request"):
        run.execute()
    assert "injected" not in events.seen
    assert not (run.run_dir / history_mod.DiskReserve.NAME).exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_a_real_tmpfs_that_fills_during_the_fault(tmp_path, events, monkeypatch):
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(disk)]).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        def fill():
            with open(disk / "filler", "wb") as f:
                try:
                    while True:
                        f.write(b"\0" * 65536)
                        f.flush()
                except OSError:
                    pass

        monkeypatch.setattr(fake_run.FakeFault, "on_inject", staticmethod(fill))
        run = fake_run.make_run(disk / "runs")
        journal, code = run.execute()
        assert events.seen.count("healed") == 1
        assert journal["verdict"] == "unknown" and code == EXIT_ENVIRONMENT
        assert "the load's requests did not all reach the history" in journal["reasons"][0]
        assert [f.step for f in load_history(run.run_dir).faults][-1] == "healed"
    finally:
        subprocess.run(["umount", "-l", str(disk)])


# --- signals at every phase --------------------------------------------------------------------

def run_and_signal(tmp_path: Path, scenario: str, wait_for: str, signum: int,
                   ready: Path | None = None) -> tuple[int, list[str], Path]:
    """Run the fake run in its own process; once it said ``wait_for`` (and ``ready`` exists, if
    given), send it ``signum``; (exit code, what it said, its runs folder)."""
    state = tmp_path / "state"
    runs = tmp_path / "runs"
    env = dict(os.environ, CHAOS_LOCK_DIR=str(tmp_path / "locks"))
    proc = subprocess.Popen([sys.executable, str(FAKE_RUN), scenario, str(runs), str(state)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if state.exists() and wait_for in state.read_text().splitlines() and (ready is None or ready.exists()):
            break
        if proc.poll() is not None:
            pytest.fail(f"the run ended before {wait_for}: {proc.stdout.read()}")
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signum)
    code = proc.wait(timeout=30)
    return code, state.read_text().splitlines(), runs


def test_sigterm_during_bring_up_ends_the_compose_child_too(tmp_path):
    # The signal once the stand-in compose CLI runs (it writes its pid first): sent before, it
    # would find no child to end, and the test would prove nothing.
    code, seen, _ = run_and_signal(tmp_path, "bring_up", "phase bring_up", signal.SIGTERM,
                                   ready=tmp_path / "state.compose-pid")
    assert code == EXIT_SIGTERM
    pid = int((tmp_path / "state.compose-pid").read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


@pytest.mark.parametrize("phase", ["recovery", "read_back"])
def test_sigterm_after_the_heal_still_leaves_meta_and_the_whole_history(tmp_path, phase):
    code, seen, runs = run_and_signal(tmp_path, phase, f"phase {phase}", signal.SIGTERM)
    assert code == EXIT_SIGTERM
    assert seen.count("healed") == 1
    (run_dir,) = runs.iterdir()
    meta = json.loads((run_dir / "meta.json").read_text())
    assert meta["stack"] == "ground-truth"
    assert [f.step for f in load_history(run_dir).faults] == ["invoked", "done", "heal_invoked", "healed"]


def test_ctrl_c_during_the_load_heals_and_exits_130(tmp_path):
    code, seen, runs = run_and_signal(tmp_path, "load", "injected", signal.SIGINT)
    assert code == EXIT_SIGINT
    assert seen.count("healed") == 1
    (run_dir,) = runs.iterdir()
    assert (run_dir / "meta.json").is_file()


@pytest.mark.parametrize("scenario,wait_for,signum", [("load", "injected", signal.SIGINT),
                                                       ("recovery", "phase recovery", signal.SIGTERM),
                                                       ("read_back", "phase read_back", signal.SIGTERM)])
def test_an_interrupted_run_re_judged_later_is_unknown_never_a_pass(tmp_path, scenario, wait_for, signum):
    # The load cut at a third of its time (or no recovery wait, no read-back): `analyze` or `report`
    # of the folder must not turn it into the PASS the live run never gave.
    from chaos.analyze import judge_run

    code, _, runs = run_and_signal(tmp_path, scenario, wait_for, signum)
    assert code in (EXIT_SIGINT, EXIT_SIGTERM)
    (run_dir,) = runs.iterdir()
    journal = judge_run(run_dir, write=False)
    assert journal["verdict"] == "unknown"
    assert "the run was interrupted before its end: interrupted by SIG" in journal["reasons"][0]


def test_a_hang_up_during_the_load_heals_and_exits_129(tmp_path):
    # The ssh session drops: SIGHUP's default action killed the harness with the fault in place.
    code, seen, runs = run_and_signal(tmp_path, "load", "injected", signal.SIGHUP)
    assert code == 128 + signal.SIGHUP
    assert seen.count("healed") == 1
    (run_dir,) = runs.iterdir()
    assert (run_dir / "meta.json").is_file()


def test_a_second_signal_on_the_way_to_the_heal_is_noted_not_raised(tmp_path, events):
    # Between the first Interrupted and _stop_and_heal's first line (the except clause, the call
    # itself) a second Ctrl-C raised again, out of the finally, before a single heal ran.
    from chaos.errors import Interrupted

    run = fake_run.make_run(tmp_path / "runs")
    with pytest.raises(Interrupted):
        run._on_signal(signal.SIGINT, None)
    run._on_signal(signal.SIGINT, None)  # noted
    assert run._signalled == signal.SIGINT


# --- one run per stack -------------------------------------------------------------------------

def test_a_second_run_on_a_held_stack_is_refused_naming_the_holder(tmp_path, events):
    with StackLock("chaos-ground-truth", "run 20261130T000000Z-other-ground-truth"):
        with pytest.raises(EnvironmentProblem, match=r"in use by run 20261130T000000Z-other-ground-truth "
                                                     rf"\(pid {os.getpid()} on "):
            fake_run.make_run(tmp_path / "runs").execute()
    assert events.seen == []  # nothing started
    journal, code = fake_run.make_run(tmp_path / "runs").execute()  # released: runs
    assert code == 0


def test_recover_is_refused_while_a_run_holds_the_stack(tmp_path, monkeypatch):
    from chaos.cli import main

    with StackLock("chaos-ground-truth", "run r1"):
        assert main(["recover", "--stack", "ground-truth"]) == EXIT_ENVIRONMENT


def test_a_lock_holder_killed_by_sigkill_leaves_no_lock(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; sys.path.insert(0, sys.argv[1]); from chaos.lock import StackLock; "
         "l = StackLock('p', 'run x'); l.acquire(); print('held', flush=True); time.sleep(60)",
         str(Path(__file__).resolve().parents[2])],
        env=dict(os.environ, CHAOS_LOCK_DIR=str(tmp_path / "locks")), stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(EnvironmentProblem, match=rf"in use by run x \(pid {holder.pid} "):
        StackLock("p", "run y").acquire()
    holder.kill()
    holder.wait()
    lock = StackLock("p", "run y")
    lock.acquire()
    lock.release()


def test_a_full_disk_when_taking_the_lock_neither_crashes_nor_leaves_it_held(tmp_path, monkeypatch):
    # The holder's description could not be written: a raw OSError escaped (a traceback) and the
    # flock stayed held by a lost descriptor, so every later run of this process (a nightly) on
    # that stack was refused, "in use by another chaos-harness process".
    import chaos.lock as lock_mod

    real_write = os.write

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(lock_mod.os, "write", full)
    with StackLock("p", "run a"):
        pass
    monkeypatch.setattr(lock_mod.os, "write", real_write)
    with StackLock("p", "run b"):
        pass


def test_a_lock_folder_this_user_cannot_write_is_an_environment_problem(tmp_path, monkeypatch):
    import chaos.lock as lock_mod

    def denied(path, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(lock_mod.os, "open", denied)
    with pytest.raises(EnvironmentProblem, match="cannot open the stack lock .*Permission denied.*CHAOS_LOCK_DIR"):
        StackLock("p", "run a").acquire()


# --- run folders -------------------------------------------------------------------------------

def test_a_runs_folder_that_cannot_be_made_is_an_environment_problem(tmp_path, events):
    # --runs-dir naming a file (or a read-only, full disk): a raw OSError, a traceback, exit 1.
    (tmp_path / "runs").write_text("not a folder")
    with pytest.raises(EnvironmentProblem, match="cannot make the run folder under .*no fault was injected"):
        fake_run.make_run(tmp_path / "runs").execute()
    assert events.seen == []


def test_an_experiment_file_edited_during_the_bring_up_is_not_what_the_run_is_judged_by(
        tmp_path, events, monkeypatch):
    # The file was copied into the run folder after the bring-up (minutes): loosening a threshold
    # meanwhile ("for the next run") made this run, which ran under the strict one, a PASS.
    from chaos import steady_state

    first = fake_run.make_run(tmp_path / "runs")  # writes the file as loaded
    strict = fake_run.EXPERIMENT_YAML + "checks:\n  acked_writes:\n    - {min: 1}\n"
    first.source.write_text(strict)
    run = fake_run.again(first)  # loaded: the strict one
    monkeypatch.setattr(steady_state, "run_prepare",
                        lambda stack: run.source.write_text(fake_run.EXPERIMENT_YAML) and [])
    journal, code = run.execute()
    assert (run.run_dir / "experiment.yaml").read_text() == strict
    assert journal["verdict"] == "fail" and code == 1


def test_two_runs_started_in_the_same_second_get_two_folders(tmp_path, events):
    a = fake_run.make_run(tmp_path / "runs")
    b = fake_run.make_run(tmp_path / "runs")
    b.run_id, b.run_dir = a.run_id, a.run_dir  # the same second
    a._make_run_dir()
    b._make_run_dir()
    assert a.run_dir != b.run_dir and b.run_id == f"{a.run_id}-2"
    assert a.run_dir.is_dir() and b.run_dir.is_dir()


def test_a_locust_killed_by_sigkill_is_a_run_whose_records_may_be_lost(tmp_path, events, monkeypatch):
    """Killed, Locust never reaches the quit event where its recorder reports unwritten records."""
    real_stop = fake_run.FakeLocust.stop

    def killed(self):
        real_stop(self)
        self.returncode = -signal.SIGKILL
        return self.returncode

    monkeypatch.setattr(fake_run.FakeLocust, "stop", killed)
    journal, code = fake_run.make_run(tmp_path / "runs").execute()
    assert journal["verdict"] == "unknown" and code == EXIT_ENVIRONMENT
    assert "Locust was killed (SIGKILL)" in journal["reasons"][0]


def test_the_disk_reserve_holds_real_blocks_and_is_given_back(tmp_path):
    reserve = history_mod.DiskReserve(tmp_path, nbytes=1 << 20)
    assert reserve.held == 1 << 20
    assert os.stat(reserve.path).st_blocks * 512 >= 1 << 20
    reserve.release()
    assert not reserve.path.exists() and reserve.held == 0


def test_a_game_day_is_judged_by_the_file_as_it_was_loaded(tmp_path):
    """The run folder's copy is what the runner read when it loaded the file (a game day passes it
    through its prompts), not what the file says later."""
    from chaos.runner import source_snapshot

    f = tmp_path / "e.yaml"
    f.write_text("strict")
    as_loaded = source_snapshot(f)
    f.write_text("loosened")
    run = fake_run.make_run(tmp_path / "runs")
    assert fake_run.runner.Run(run.experiment, run.stack, run.opts, f, source_bytes=as_loaded).source_bytes == b"strict"


def test_a_signal_during_a_history_write_never_writes_the_line_twice(tmp_path, monkeypatch):
    """The runner's handler raises Interrupted; arriving just after write(2) returned, before the line
    was struck from memory, it made the next flush write the line again."""
    real_write = os.write

    def write_then_signal(fd, data):
        n = real_write(fd, data)
        os.kill(os.getpid(), signal.SIGINT)  # delivered at once unless the writer defers it
        return n

    class Raised(Exception):
        pass

    def handler(signum, frame):
        raise Raised()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        w = HistoryWriter(tmp_path / "h.jsonl")
        monkeypatch.setattr(history_mod.os, "write", write_then_signal)
        with pytest.raises(Raised):
            w.mark("once")
        monkeypatch.setattr(history_mod.os, "write", real_write)
        assert w.close() is True
    finally:
        signal.signal(signal.SIGINT, previous)
    assert [json.loads(line)["name"] for line in (tmp_path / "h.jsonl").read_text().splitlines()] == ["once"]
