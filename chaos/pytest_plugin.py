"""pytest plugin (registered through the ``pytest11`` entry point): fixtures so a team's own test
suite can hold failover tests, and the ``integration`` marker.

    def test_pangyo_power_cut(chaos_run):
        journal, code = chaos_run("experiments/pangyo-power-cut.yaml")
        assert journal["verdict"] == "pass"

Every setting is an overridable fixture (``chaos_stack_name``, ``chaos_runs_dir``). The stack fixture
starts from a fresh stack (volumes removed) and registers its cleanup *before* bringing it up, so a
failed ``up`` is still taken down; ``--chaos-keep-stack`` reuses a running stack and leaves it up.
Locust is never imported here: it runs in a subprocess.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_configure(config):
    config.addinivalue_line("markers", "integration: needs a Docker engine and the images (make images)")


def pytest_addoption(parser):
    group = parser.getgroup("chaos-harness")
    group.addoption("--chaos-keep-stack", action="store_true",
                    help="leave the stack running after the session (faster reruns)")


@pytest.fixture(scope="session")
def chaos_stack_name() -> str:
    return "dual-site"


@pytest.fixture(scope="session")
def chaos_runs_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("chaos-runs")


@pytest.fixture(scope="session")
def chaos_stack(request, chaos_stack_name):
    """A stack brought up (and, unless --chaos-keep-stack, taken down with its volumes after)."""
    from chaos.stack import Compose, docker_client, find_stack, missing_images

    stack = find_stack(chaos_stack_name)
    client = docker_client()
    missing = missing_images(client, stack)
    if missing:
        pytest.fail(f"images missing: {', '.join(missing)}; run `make images`")
    compose = Compose(stack)
    keep = request.config.getoption("--chaos-keep-stack")
    if not keep:
        request.addfinalizer(lambda: compose.down(volumes=True))
        compose.down(volumes=True)  # start from a fresh stack: no state left by an earlier session
    compose.up()
    return stack


@pytest.fixture
def chaos_run(chaos_stack, chaos_runs_dir):
    """Run an experiment file against ``chaos_stack``: returns (journal, exit code)."""
    import sys

    from chaos.runner import RunOptions, run_experiment

    def run(path, **overrides):
        opts = RunOptions(stack=chaos_stack.name, runs_dir=chaos_runs_dir, bring_up=False, out=sys.stderr)
        for k, v in overrides.items():
            setattr(opts, k, v)
        return run_experiment(path, opts)

    return run
