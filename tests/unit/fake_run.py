"""A whole ``Run.execute`` without Docker, Locust or a network: the runner's collaborators replaced
by fakes with their real interface (a fault that records its inject and heal, a Locust that writes
op records as the recorder does, a stack that is always steady). Used in-process by the unit tests,
and as a script by the tests that send the harness a real signal:

    python tests/unit/fake_run.py SCENARIO RUNS_DIR STATE_FILE

prints nothing of its own; the run's exit code is the script's, and STATE_FILE receives one line a
event (``injected``, ``healed``, ``phase <name>``) so the test knows when to send its signal and what
was done.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import chaos.runner as runner  # noqa: E402
from chaos.experiment import Experiment, FaultSpec, Load, Target  # noqa: E402
from chaos.history import HistoryWriter  # noqa: E402
from chaos.load.recorder import RECORDS_UNWRITTEN_EXIT  # noqa: E402
from chaos.stack import find_stack  # noqa: E402

EXPERIMENT_YAML = """\
name: fake
stack: ground-truth
load: {users: 1, spawn_rate: 1, duration_s: 2}
faults:
  - {type: kill, target: {service: truth-3s}, at_s: 0.3}
"""


class Events:
    """Where the fakes say what happened: a list, and a file if given (for a test in another process)."""

    def __init__(self, path: Path | None = None):
        self.seen: list[str] = []
        self.path = path

    def __call__(self, what: str) -> None:
        self.seen.append(what)
        if self.path is not None:
            with open(self.path, "a") as f:
                f.write(what + "\n")


class FakeFault:
    type = "kill"
    heal_after_s = None
    events: Events = Events()
    on_inject = staticmethod(lambda: None)
    inject_error: Exception | None = None

    def __init__(self, spec, ctx):
        self.spec = spec

    def inject(self) -> str:
        FakeFault.events("injected")
        FakeFault.on_inject()
        if FakeFault.inject_error is not None:
            raise FakeFault.inject_error
        return "killed 1 container"

    def heal(self) -> str:
        FakeFault.events("healed")
        return "started 1 container"


class FakeLocust:
    """Writes one ok op record every 50 ms into the history, like the recorder, until stopped or
    until the load's duration has passed; like the recorder, it exits with RECORDS_UNWRITTEN_EXIT
    if a record could not be written."""

    def __init__(self, workload, host, load, history_dir, log_path, run_time_s=None):
        self.duration_s = load.duration_s
        self.history_dir = Path(history_dir)
        self.log_path = log_path
        self.proc = SimpleNamespace(returncode=None)
        self._t0: float | None = None
        self._writer: HistoryWriter | None = None

    def start(self) -> None:
        self._t0 = time.monotonic()
        self._writer = HistoryWriter(self.history_dir / f"load-{os.getpid()}.jsonl")

    def running(self) -> bool:
        if self._t0 is None or self._writer is None:
            return False
        now = time.monotonic()
        if now - self._t0 >= self.duration_s:
            return False
        self._writer.write({"kind": "op", "service": "truth-3s", "op": "ping", "outcome": "ok",
                            "start": time.time(), "mono": now, "latency": 0.001, "write_id": None,
                            "status": 200, "error": None, "proc": os.getpid()})
        return True

    def stop(self) -> int:
        if self._writer is not None and self.proc.returncode is None:
            self._writer.close()
            self.proc.returncode = RECORDS_UNWRITTEN_EXIT if self._writer.error is not None else 0
        return self.proc.returncode

    def log_tail(self, lines: int = 20) -> str:
        return ""


class FakeToxiproxy:
    def __init__(self, url):
        pass

    def reset(self) -> None:
        pass


def experiment() -> Experiment:
    return Experiment(name="fake", description="", stack="ground-truth",
                      load=Load(users=1, spawn_rate=1, duration_s=2.0),
                      faults=(FaultSpec("kill", Target(service="truth-3s"), 0.3),), checks=(),
                      recovery_wait_s=1.0)


def install(setattr_, events: Events, *, slow_phase: str | None = None) -> None:
    """Replace the runner's collaborators. ``setattr_`` is ``monkeypatch.setattr`` or ``setattr``.
    ``slow_phase``: ``bring_up``, ``recovery`` or ``read_back`` waits there (for a signal) for 30 s,
    after saying ``phase <name>``."""

    def phase(name: str):
        events(f"phase {name}")
        if slow_phase == name:
            time.sleep(30)

    FakeFault.events = events
    setattr_(runner, "docker_client", lambda: object())
    setattr_(runner, "missing_images", lambda client, stack: [])
    setattr_(runner, "conflicting_stacks", lambda client, stack: [])
    setattr_(runner, "run_prepare", lambda stack: [])
    setattr_(runner, "wait_healthy", lambda client, stack, timeout: [])
    # wait_steady runs before the load too: only the one after the heal is the recovery wait.
    setattr_(runner, "wait_steady", lambda stack, timeout: ("healed" in events.seen and phase("recovery")) or [])
    setattr_(runner, "wait_steady_state", lambda stack, timeout: {})
    setattr_(runner, "LocustProcess", FakeLocust)
    setattr_(runner, "IMPLEMENTATIONS", {"kill": FakeFault})
    setattr_(runner, "Toxiproxy", FakeToxiproxy)
    setattr_(runner, "environment", lambda: {"harness": "test"})
    setattr_(runner.Run, "_read_back", lambda self: phase("read_back") or self._write_invariants(None))
    if slow_phase == "bring_up":
        # The real Compose.run with a stand-in CLI that takes its time: a child in its own group.
        from chaos.engine import Compose

        def cmd(self, *args):
            return [sys.executable, "-c", "import os, sys, time; print(os.getpid(), file=open(sys.argv[1], 'w'), "
                    "flush=True); time.sleep(60)", str(events.path) + ".compose-pid"]

        setattr_(Compose, "_cmd", cmd)

        original_up = Compose.up

        def up(self, progress=None, every_s=5.0):
            events("phase bring_up")
            return original_up(self, progress=None)

        setattr_(Compose, "up", up)


def make_run(runs_dir: Path, *, bring_up: bool = False, out=None) -> "runner.Run":
    source = Path(runs_dir).parent / "fake.yaml"
    source.write_text(EXPERIMENT_YAML)
    stack = find_stack("ground-truth", ROOT / "stacks")
    opts = runner.RunOptions(runs_dir=Path(runs_dir), bring_up=bring_up,
                             out=out if out is not None else open(os.devnull, "w"))
    return runner.Run(experiment(), stack, opts, source)


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
