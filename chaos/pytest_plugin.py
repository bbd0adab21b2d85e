"""pytest plugin (registered through the ``pytest11`` entry point): fixtures so a team's own test
suite can hold failover tests, and the ``integration`` marker.

    def test_pangyo_power_cut(chaos_run):
        journal, code = chaos_run("experiments/pangyo-power-cut.yaml")
        assert journal["verdict"] == "pass"

    def test_the_2022_layout_fails(chaos_run):
        journal, code = chaos_run("experiments/pangyo-power-cut.yaml", stack="single-site")
        assert journal["verdict"] == "fail"

Every setting is an overridable fixture (``chaos_stack_name``, ``chaos_runs_dir``). Stacks are
brought up on first use (``chaos.bring_up.ensure_up``, the policy of ``chaos-harness run``), from
fresh (volumes removed); one that publishes the same ports as a stack already up replaces it (taken
down under its lock: never under a run); all are taken down at the end of the session; cleanup is
registered *before* each ``up``, so a failed ``up`` is still taken down. ``--chaos-keep-stack``
reuses running stacks and leaves them up.
Locust is never imported here: it runs in a subprocess.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest


def pytest_configure(config):
    config.addinivalue_line("markers", "integration: needs a Docker engine and the images (make images)")


def pytest_addoption(parser):
    group = parser.getgroup("chaos-harness")
    group.addoption("--chaos-keep-stack", action="store_true",
                    help="reuse running stacks and leave them up after the session (faster reruns)")


BROKEN_AFTER_S = 120  # a stack still not healthy this long after the test before is started again


class StackPool:
    """The stacks of one test session, brought up on first use. Stacks that publish the same ports
    cannot run together: bringing one up takes down the others that clash with it."""

    def __init__(self, keep: bool):
        self.keep = keep
        self.up: dict[str, object] = {}  # name -> StackDef, currently up
        self.touched: dict[str, object] = {}

    def use(self, name: str):
        from chaos.bring_up import MAKE_ROOM, ensure_up
        from chaos.engine import Engines, wait_healthy
        from chaos.errors import EnvironmentProblem
        from chaos.stack import find_stack

        if name in self.up:
            if self.keep or not wait_healthy(Engines.connect(self.up[name]), self.up[name], BROKEN_AFTER_S):
                return self.up[name]
            # A test before this one left the stack broken (a heal or a rebuild that did not come
            # back within BROKEN_AFTER_S): brought up again from fresh below, so one failure does not
            # fail every test after it (on 2026-11-30 one member that did not rejoin failed five).
            del self.up[name]
        stack = find_stack(name)
        self.touched[name] = stack  # taken down at the end even if its bring-up fails
        try:
            # The one bring-up policy (chaos.bring_up): any other stack on the same ports taken down
            # under its lock (never under a run), then this one from fresh (unless kept), up and healthy.
            taken_down = ensure_up(stack, Engines.connect(stack), clashes=MAKE_ROOM, fresh=not self.keep,
                                   down_volumes=not self.keep, lock_as="pytest session: bring up",
                                   who="pytest session")
        except EnvironmentProblem as e:
            pytest.fail(str(e))
        for other in taken_down:
            self.up.pop(other, None)
        self.up[name] = stack
        return stack

    def release(self, name: str) -> None:
        """Take the stack ``name`` down now (its volumes too), if this session brought it up."""
        from chaos.lock import StackLock
        from chaos.engine import Compose

        stack = self.touched.pop(name, None)
        self.up.pop(name, None)
        if stack is not None:
            with StackLock(stack.project, "pytest session: take down"):
                Compose(stack).down(volumes=True)

    def close(self) -> None:
        if self.keep:
            return
        for name in list(self.touched):
            self.release(name)


@pytest.fixture(scope="session")
def chaos_stack_name() -> str:
    return "dual-site"


@pytest.fixture(scope="session")
def chaos_runs_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("chaos-runs")


@pytest.fixture(scope="session")
def chaos_stacks(request):
    pool = StackPool(keep=request.config.getoption("--chaos-keep-stack"))
    request.addfinalizer(pool.close)
    return pool


@pytest.fixture
def chaos_stack(chaos_stacks, chaos_stack_name):
    """The stack named by ``chaos_stack_name``, up and ready."""
    return chaos_stacks.use(chaos_stack_name)


@pytest.fixture
def chaos_run(chaos_stacks, chaos_stack_name, chaos_runs_dir):
    """Run an experiment file: ``chaos_run(path, stack=None, **RunOptions)`` -> (journal, exit code)."""
    from chaos.runner import RunOptions, run_experiment

    def run(path, stack: str | None = None, **overrides):
        name = stack or chaos_stack_name
        chaos_stacks.use(name)
        opts = RunOptions(stack=name, runs_dir=chaos_runs_dir, bring_up=False, out=sys.stderr)
        for k, v in overrides.items():
            setattr(opts, k, v)
        return run_experiment(path, opts)

    return run
