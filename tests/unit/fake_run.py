"""A whole ``Run.execute`` without Docker, Locust, a network or real time: the runner's
collaborators replaced by fakes with their real interface (a clock that moves only when slept on, a
Docker client of a stack whose images are all there and whose containers are all healthy, a fault
that records its inject and heal, a load that writes op records as the recorder does, a stack whose
probes and steady-state commands always hold). Used in-process by the unit tests, and as a script
by the tests that send the harness a real signal:

    python tests/unit/fake_run.py SCENARIO RUNS_DIR STATE_FILE

prints nothing of its own; the run's exit code is the script's, and STATE_FILE receives one line a
event (``injected``, ``healed``, ``phase <name>``) so the test knows when to send its signal and what
was done. SCENARIO is the phase that waits (really, 30 s) for the signal: ``bring_up``, ``load``
(once the fault is in), ``recovery`` or ``read_back``.

``install(..., trap=(phase, kind))`` makes one of ``PHASES`` go wrong once, as ``kind`` says
(``TRAPS``: an exception, a KeyboardInterrupt, a real SIGTERM sent to this process).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import chaos.runner as runner  # noqa: E402
from chaos import bring_up, readback, steady_state  # noqa: E402
from chaos.files import write_atomic  # noqa: E402
from chaos.experiment import Experiment, FaultSpec, Load, Target  # noqa: E402
from chaos.history import HistoryWriter  # noqa: E402
from chaos.load.recorder import RECORDS_UNWRITTEN_EXIT  # noqa: E402
from chaos.run_folder import KIND_OP, OK, REPORT, load_history_name  # noqa: E402
from chaos.stack import find_stack  # noqa: E402

EXPERIMENT_YAML = """\
name: fake
stack: ground-truth
load: {users: 1, spawn_rate: 1, duration_s: 2}
faults:
  - {type: kill, target: {service: truth-3s}, at_s: 0.3}
"""

# Where a run can be hit, in the order a run meets them.
PHASES = ("bring_up", "prepare", "steady_before", "load_start", "inject", "load", "load_stop", "heal",
          "recovery", "read_back", "judge", "reports")
TRAPS = ("exception", "keyboard_interrupt", "sigterm")


class TrapSprung(RuntimeError):
    """The exception a trap of kind ``exception`` raises."""


class FakeClock:
    """``chaos.clock.Clock`` that moves only when slept on: a run of 2 s takes no real time."""

    def __init__(self, mono: float = 1000.0, wall: float = 1_764_460_800.0):
        self.mono, self.offset = mono, wall - mono

    def monotonic(self) -> float:
        return self.mono

    def wall(self) -> float:
        return self.mono + self.offset

    def sleep(self, seconds: float) -> None:
        self.mono += max(0.0, seconds)


class Events:
    """Where the fakes say what happened: a list, and a file if given (for a test in another process).
    ``trap``: (phase, kind), sprung once at ``checkpoint(phase)``."""

    def __init__(self, path: Path | None = None):
        self.seen: list[str] = []
        self.path = path
        self.trap: tuple[str, str] | None = None
        self.sprung = False

    def __call__(self, what: str) -> None:
        self.seen.append(what)
        if self.path is not None:
            with open(self.path, "a") as f:
                f.write(what + "\n")

    def checkpoint(self, phase: str) -> None:
        if self.trap is None or self.sprung or self.trap[0] != phase:
            return
        self.sprung = True
        kind = self.trap[1]
        if kind == "exception":
            raise TrapSprung(f"trap at {phase}")
        if kind == "keyboard_interrupt":
            raise KeyboardInterrupt
        if kind == "sigterm":
            os.kill(os.getpid(), signal.SIGTERM)  # the runner's handler raises (or notes) it here
            return
        raise ValueError(f"unknown trap kind {kind!r}")


EVENTS = Events()
CLOCK = FakeClock()


class FakeFault:
    type = "kill"
    heal_after_s = None
    on_inject = staticmethod(lambda: None)
    inject_error: Exception | None = None

    def __init__(self, spec, ctx):
        self.spec = spec

    def inject(self) -> str:
        EVENTS("injected")
        FakeFault.on_inject()
        EVENTS.checkpoint("inject")
        if FakeFault.inject_error is not None:
            raise FakeFault.inject_error
        return "killed 1 container"

    def heal(self) -> str:
        EVENTS.checkpoint("heal")
        EVENTS("healed")
        return "started 1 container"


class FakeLocust:
    """``chaos.load.process.LoadProcess``: writes one ok op record each time the runner asks whether
    it runs (every 50 ms of the fake clock), into the history, like the recorder, until stopped or
    until the load's duration has passed; like the recorder, it exits with RECORDS_UNWRITTEN_EXIT
    if a record could not be written."""

    slow = False  # the ``load`` scenario: once the fault is in, wait (really) for a signal

    def __init__(self, workload, host, load, history_dir, log_path, run_time_s=None):
        self.duration_s = load.duration_s
        self.history_dir = Path(history_dir)
        self.log_path = log_path
        self.returncode: int | None = None
        self._t0: float | None = None
        self._writer: HistoryWriter | None = None
        self._stopped = False

    def start(self) -> None:
        EVENTS.checkpoint("load_start")
        self._t0 = CLOCK.monotonic()
        self._writer = HistoryWriter(self.history_dir / load_history_name(os.getpid()))

    def running(self) -> bool:
        if self._t0 is None or self._writer is None or self._stopped:
            return False
        now = CLOCK.monotonic()
        if now - self._t0 >= self.duration_s:
            return False
        if EVENTS.seen.count("injected") > EVENTS.seen.count("healed"):
            EVENTS.checkpoint("load")
            if FakeLocust.slow:
                FakeLocust.slow = False
                time.sleep(30)
        self._writer.write({"kind": KIND_OP, "service": "truth-3s", "op": "ping", "outcome": OK,
                            "start": CLOCK.wall(), "mono": now, "latency": 0.001, "write_id": None,
                            "status": 200, "error": None, "proc": os.getpid()})
        return True

    def stop(self) -> int | None:
        EVENTS.checkpoint("load_stop")
        self._stopped = True
        if self._writer is not None and self.returncode is None:
            self._writer.close()
            self.returncode = RECORDS_UNWRITTEN_EXIT if self._writer.error is not None else 0
        return self.returncode

    def log_tail(self, lines: int = 20) -> str:
        return ""


class FakeDocker:
    """The Docker SDK client as the bring-up and the environment probe use it: every image there,
    no container listed (so none unhealthy, and no other stack up on the same ports)."""

    def __init__(self):
        self.images = self
        self.containers = self

    def get(self, name):  # images.get
        EVENTS.checkpoint("bring_up")
        return name

    def list(self, all=True, filters=None):  # containers.list
        return []

    def version(self) -> dict:
        return {"Version": "fake"}


def render_html(run_dir: Path, journal: dict) -> Path:
    """Stands in for ``chaos.reports.render_html``: a page naming the run and its verdict."""
    return write_atomic(Path(run_dir) / REPORT, f"<!DOCTYPE html><p>{journal['run_id']}: {journal['verdict']}</p>\n")


def experiment() -> Experiment:
    return Experiment(name="fake", description="", stack="ground-truth",
                      load=Load(users=1, spawn_rate=1, duration_s=2.0),
                      faults=(FaultSpec("kill", Target(service="truth-3s"), 0.3),), checks=(),
                      recovery_wait_s=1.0)


def install(setattr_, events: Events, *, slow_phase: str | None = None,
            trap: tuple[str, str] | None = None) -> FakeClock:
    """Replace the runner's collaborators that are not arguments of ``Run`` (the stack's probes,
    prepare and steady-state commands, its read-back, the fault registry); a fresh fake clock.
    ``setattr_`` is ``monkeypatch.setattr`` or ``setattr``. ``slow_phase``: ``bring_up``, ``load``,
    ``recovery`` or ``read_back`` waits there (for a signal) for 30 s, after saying ``phase <name>``
    (``load``: after ``injected``). ``trap``: (phase, kind), see ``Events.checkpoint``."""
    module = sys.modules[__name__]

    def phase(name: str):
        events(f"phase {name}")
        events.checkpoint(name)
        if slow_phase == name:
            time.sleep(30)

    def probes_ok(stack):
        # Probed before the load and again in the recovery wait: only the one after the heal is the recovery.
        if "healed" in events.seen:
            phase("recovery")
        else:
            events.checkpoint("steady_before")
        return []

    def prepare(stack):
        events.checkpoint("prepare")
        return []

    def read_back(run_dir, stack, say):
        phase("read_back")
        return None  # no read-back module: the invariants are the steady state's alone

    def hooked(name, real):
        def call(*args, **kwargs):
            events.checkpoint(name)
            return real(*args, **kwargs)
        return call

    events.trap = trap
    clock = FakeClock()
    setattr_(module, "EVENTS", events)
    setattr_(module, "CLOCK", clock)
    setattr_(FakeLocust, "slow", slow_phase == "load")
    setattr_(steady_state, "probes_ok", probes_ok)
    setattr_(steady_state, "run_prepare", prepare)
    setattr_(steady_state, "wait_steady_state", lambda stack, timeout: {})
    setattr_(readback, "read_back", read_back)
    setattr_(runner, "IMPLEMENTATIONS", {"kill": FakeFault})
    setattr_(runner, "judge_run", hooked("judge", runner.judge_run))
    # The HTML report's plots (matplotlib, a second or more a run) are tests/unit/test_reports.py's
    # subject: here a page that says which journal it shows, written where the real one would be.
    setattr_(runner, "render_html", hooked("reports", render_html))
    # Every other stack's compose file read for its ports (a second of YAML a run): none is up here.
    setattr_(bring_up, "conflicting_stacks", lambda client, stack: [])
    if slow_phase == "bring_up":
        # The real Compose.run with a stand-in CLI that takes its time: a child in its own group.
        from chaos.engine import Compose

        def cmd(self, *args, engine=None):
            return [sys.executable, "-c", "import os, sys, time; print(os.getpid(), file=open(sys.argv[1], 'w'), "
                    "flush=True); time.sleep(60)", str(events.path) + ".compose-pid"]

        setattr_(Compose, "_cmd", cmd)

        original_up = Compose.up

        def up(self, progress=None, every_s=5.0):
            events("phase bring_up")
            return original_up(self, progress=None)

        setattr_(Compose, "up", up)
    return clock


def make_run(runs_dir: Path, *, bring_up: bool = False, out=None, load_process=None) -> "runner.Run":
    """A run of ``EXPERIMENT_YAML`` on the ground-truth stack, on the fakes (``install`` first)."""
    source = Path(runs_dir).parent / "fake.yaml"
    source.write_text(EXPERIMENT_YAML)
    stack = find_stack("ground-truth", ROOT / "stacks")
    opts = runner.RunOptions(runs_dir=Path(runs_dir), bring_up=bring_up,
                             out=out if out is not None else open(os.devnull, "w"))
    return runner.Run(experiment(), stack, opts, source, clock=CLOCK, docker=FakeDocker(),
                      load_process=load_process or FakeLocust)


def again(run: "runner.Run", **changes) -> "runner.Run":
    """A new run like ``run`` (its experiment, stack, options, file and fakes), with ``changes``."""
    args = dict(experiment=run.experiment, stack=run.stack, opts=run.opts, source=run.source, clock=run.clock,
                docker=run.docker, load_process=run.load_process)
    args.update(changes)
    return runner.Run(**args)


def main(argv: list[str]) -> int:
    from chaos.errors import ChaosError, Interrupted

    scenario, runs_dir, state = argv
    events = Events(Path(state))
    install(setattr, events, slow_phase=scenario)
    run = make_run(Path(runs_dir), bring_up=scenario == "bring_up")
    try:
        _, code = run.execute()
        return code
    except (ChaosError, Interrupted) as e:
        return e.exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
