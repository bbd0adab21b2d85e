"""Issue 16 on a real stack: a Locust master with local workers and one started as a separate
``chaos-harness worker`` process (as a remote one would be), against the ground-truth stack, whose
truth-3s answers 503 for exactly T = 3 s after SIGUSR1 (see test_ground_truth.py). The run gets one
complete history from all three workers, the expected verdict and the RTO within 0.5 s of T; a
local worker SIGKILLed mid-run makes the run ``unknown`` (exit 3), naming the worker.

The master listens on 127.0.0.1 and a free port here (a real remote run binds every interface, port
5557): the test reads the worker command the run prints, and runs it."""

from __future__ import annotations

import io
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from chaos.errors import EXIT_ENVIRONMENT, EXIT_PASS
from chaos.history import load as load_history
from chaos.load.locust_group import LocustGroup, free_port, load_workers
from chaos.run_folder import (INTEGRITY_MARKS, MARK_RECORDS_LOST, MARK_WORKER_CLOCK, MARK_WORKER_LOST, history_dir,
                              load_history_name)
from chaos.runner import Run, RunOptions, prepare

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
T_S = 3.0
TOLERANCE_S = 0.5

EXPERIMENT = """\
name: workers-{name}
stack: ground-truth
expect: pass
load: {{users: 6, spawn_rate: 50, duration_s: 30, workers: {workers}, remote_workers: {remote}}}
faults:
  - {{type: kill, target: {{service: truth-3s}}, at_s: 10, signal: SIGUSR1}}
checks:
  rto_s:
    - {{min: 2.5, service: truth-3s}}
    - {{max: 3.5, service: truth-3s}}
    - {{max: 0, service: truth-8s}}
recovery_wait_s: 3
"""


class Out(io.TextIOBase):
    """The run's output, echoed to stderr; ``on_line`` sees each line as it is said."""

    def __init__(self, on_line):
        self.text, self.on_line = "", on_line

    def write(self, s: str) -> int:
        self.text += s
        sys.stderr.write(s)
        for line in s.splitlines():
            self.on_line(line)
        return len(s)


def run_with_workers(tmp_path, chaos_stacks, name: str, workers: int, remote: int, on_line=lambda line: None,
                     on_group=lambda g: None):
    chaos_stacks.use("ground-truth")
    path = tmp_path / f"{name}.yaml"
    path.write_text(EXPERIMENT.format(name=name, workers=workers, remote=remote))
    experiment, stack = prepare(path, "ground-truth")
    groups = []

    def factory(workload, host, load, hist_dir, log_path, run_time_s=None):
        local, remote_n = load_workers(load)
        g = LocustGroup(workload, host, load, hist_dir, log_path, run_time_s=run_time_s, local=local,
                        remote=remote_n, bind_host="127.0.0.1", port=free_port(), connect_timeout_s=60)
        groups.append(g)
        on_group(g)
        return g

    out = Out(on_line)
    opts = RunOptions(stack="ground-truth", runs_dir=tmp_path / "runs", bring_up=False, out=out)
    journal, code = Run(experiment, stack, opts, path, load_process=factory).execute()
    return journal, code, groups[0], out.text


def test_two_local_workers_and_one_started_apart_give_one_complete_history_and_the_rto(tmp_path, chaos_stacks):
    remote: list[subprocess.Popen] = []

    def on_line(line: str) -> None:  # the run's own instruction, followed as a user would
        if "chaos-harness worker --master" in line and not remote:
            args = shlex.split(line.split("chaos-harness", 1)[1])
            remote.append(subprocess.Popen([sys.executable, "-m", "chaos", *args, "--name", "far"], cwd=ROOT,
                                           stdout=subprocess.DEVNULL, stderr=open(tmp_path / "far.log", "w")))

    try:
        journal, code, group, said = run_with_workers(tmp_path, chaos_stacks, "remote", 3, 1, on_line)
        assert remote[0].wait(timeout=30) == 0  # the master ended the load: the worker left by itself
    finally:
        for p in remote:
            if p.poll() is None:
                p.kill()
    run_dir = tmp_path / "runs" / journal["run_id"]
    assert journal["verdict"] == "pass" and code == EXIT_PASS, journal["reasons"]
    rto = journal["services"]["truth-3s"]["rto_s"]
    assert abs(rto - T_S) <= TOLERANCE_S
    assert journal["services"]["truth-8s"]["rto_s"] == 0
    history = load_history(run_dir)
    assert not [m for m in history.marks if m.name in INTEGRITY_MARKS]
    files = {p.name for p in history_dir(run_dir).iterdir()}
    assert {load_history_name(n) for n in ("w1", "w2", "far")} <= files
    clocks = {m.worker: m.bound for m in history.marks if m.name == MARK_WORKER_CLOCK}
    assert set(clocks) == {"w1", "w2", "far"} and all(b is not None and b < 0.5 for b in clocks.values())
    assert set(journal["clocks"]) == {"w1", "w2", "far"}
    assert "WORKER LOST" not in said


def test_a_local_worker_killed_mid_run_makes_the_run_unknown_naming_it(tmp_path, chaos_stacks):
    def kill_w2_later(group: LocustGroup) -> None:
        def later():
            deadline = time.monotonic() + 120
            while not group._said("started") and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(12)  # after the fault (10 s), well before the load's end (30 s)
            (victim,) = [p for n, p in group.workers if n == "w2"]
            if victim.proc is not None and victim.proc.poll() is None:
                os.kill(victim.proc.pid, signal.SIGKILL)

        threading.Thread(target=later, daemon=True).start()

    journal, code, group, said = run_with_workers(tmp_path, chaos_stacks, "killed", 2, 0, on_group=kill_w2_later)
    assert journal["verdict"] == "unknown" and code == EXIT_ENVIRONMENT
    assert any("w2" in r for r in journal["reasons"]), journal["reasons"]
    run_dir = tmp_path / "runs" / journal["run_id"]
    marks = load_history(run_dir).marks
    assert [m for m in marks if m.name == MARK_WORKER_LOST and "w2" in m.detail]
    assert [m for m in marks if m.name == MARK_RECORDS_LOST and "w2" in m.detail]
    assert [line for line in said.splitlines() if "WORKER LOST" in line and "w2" in line]
