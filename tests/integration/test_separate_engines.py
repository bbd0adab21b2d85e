"""Sites on engines of their own (issue 17): the dual-site stack with pangyo, chuncheon and the
witness each on an extra Docker engine (scripts/engines.sh, docs/hosts.md), measured as on one engine.

Needs the extra engines: ``make engines`` (the fixture starts them when they are not up, and leaves
them running for the next test; ``scripts/engines.sh stop`` ends them)."""

from __future__ import annotations

import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

from chaos.engine import Engines, containers
from chaos.stack import find_stack
from chaos.toxiproxy import Toxiproxy

pytestmark = [pytest.mark.integration, pytest.mark.engines]

ROOT = Path(__file__).resolve().parents[2]
ENGINES_SH = ROOT / "scripts" / "engines.sh"
STACK = "dual-site-engines"


def engines_sh(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(ENGINES_SH), *args], capture_output=True, text=True, timeout=timeout)


def answering() -> bool:
    """Whether every site's engine of the stack answers now."""
    return all(subprocess.run(["docker", *spec.cli_args(), "info"], capture_output=True, timeout=30).returncode == 0
               for spec in find_stack(STACK).engines.values())


@pytest.fixture(scope="module")
def engines_up(chaos_stacks):
    """The extra engines, started if they are not up; taken away again after this module's tests if
    this fixture started them (their CPU is not spent during the other tests), the stack first."""
    already = answering()
    started = engines_sh("start")
    assert started.returncode == 0, started.stdout[-1000:] + started.stderr[-2000:]
    yield
    if not already and not chaos_stacks.keep:
        chaos_stacks.release(STACK)
        engines_sh("stop")


def test_an_engine_started_again_leaves_the_default_engines_bridge_alone(engines_up):
    # dockerd 20.10 started again with a default address pool deleted the interface named docker0,
    # the default engine's, until scripts/engines.sh gave the extra engines --live-restore.
    assert subprocess.run(["ip", "link", "show", "docker0"], capture_output=True).returncode == 0, \
        "the default engine has no docker0 before the test"
    for step in ("stop", "start"):
        done = engines_sh(step, "witness")
        assert done.returncode == 0, done.stderr[-2000:]
    assert subprocess.run(["ip", "link", "show", "docker0"], capture_output=True).returncode == 0, \
        "starting the witness engine again deleted the default engine's docker0"


@pytest.mark.slow  # the declared engine_loss below brings the same stack up and darkens the same site
def test_power_cut_on_separate_engines_passes_as_on_one(engines_up, chaos_run):
    journal, code = chaos_run(ROOT / "experiments" / "pangyo-power-cut.yaml", stack=STACK)
    assert journal["verdict"] == "pass" and code == 0, journal["reasons"]
    for s in journal["services"].values():
        assert s["lost_writes"] == 0 and s["failed"] + s["unknown"] > 0, s


def test_a_declared_engine_loss_of_pangyo_gets_the_verdict_of_a_power_cut(engines_up, chaos_run, chaos_stacks):
    # Blast radius: a decoy on pangyo's engine that carries the stack's labels but belongs to no
    # compose project of it is neither killed nor restarted (the engine's daemon stops, and with
    # --live-restore a container it does not kill outlives it).
    stack = chaos_stacks.use(STACK)
    pangyo = Engines.connect(stack).for_site("pangyo")
    labels = {"chaos.site": "pangyo", "chaos.role": "app", "chaos.service": "login",
              "com.docker.compose.service": "login-pangyo"}
    decoy = pangyo.containers.run("chaos-harness/platform:dev", ["sleep", "3600"], name=f"decoy-{uuid.uuid4().hex[:8]}",
                                  labels=labels, network_mode="none", detach=True)
    try:
        decoy.reload()
        before = (decoy.attrs["State"]["StartedAt"], decoy.attrs["State"]["Pid"])
        journal, code = chaos_run(ROOT / "experiments" / "pangyo-engine-loss.yaml", stack=STACK)
        decoy.reload()
        assert decoy.status == "running" and (decoy.attrs["State"]["StartedAt"], decoy.attrs["State"]["Pid"]) == before
    finally:
        decoy.remove(force=True)
    (fault,) = journal["faults"]
    assert fault["type"] == "engine_loss" and fault["heal_ok"], fault
    assert journal["verdict"] == "pass" and code == 0, journal["reasons"]
    for s in journal["services"].values():
        assert s["lost_writes"] == 0 and s["failed"] + s["unknown"] > 0, s


BEHIND_THE_BACK = """\
name: chuncheon-slowed-while-pangyo-is-lost
stack: dual-site-engines
expect: pass
load: {users: 10, spawn_rate: 10, duration_s: 30}
faults:
  - {type: pause, target: {site: chuncheon, service: messaging}, at_s: 5, duration_s: 40}
  - {type: latency, target: {link: [pangyo, chuncheon]}, at_s: 5, duration_s: 40, latency_ms: 50}
recovery_wait_s: 5
"""


def test_an_engine_stopped_behind_the_harness_makes_the_run_unknown_and_the_others_are_healed(
        engines_up, chaos_run, chaos_stacks, chaos_runs_dir, tmp_path):
    stack = chaos_stacks.use(STACK)
    path = tmp_path / "behind.yaml"
    path.write_text(BEHIND_THE_BACK)
    before = set(Path(chaos_runs_dir).glob("*"))

    def stop_pangyo():  # not a fault of the experiment: the host is lost under the harness
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:  # once both faults are in (their "done" steps)
            new = [d for d in Path(chaos_runs_dir).glob("*") if d not in before]
            faults = new[0] / "history" / "faults.jsonl" if new else None
            if faults is not None and faults.exists() and faults.read_text().count('"done"') >= 2:
                break
            time.sleep(0.2)
        time.sleep(2)
        engines_sh("stop", "pangyo")

    saboteur = threading.Thread(target=stop_pangyo)
    saboteur.start()
    try:
        journal, code = chaos_run(path, stack=STACK)
    finally:
        saboteur.join()
        started = engines_sh("start", "pangyo")
    assert started.returncode == 0, started.stderr[-2000:]
    assert journal["verdict"] == "unknown" and code == 3, journal["verdict"]
    assert any("site pangyo's engine at unix:///run/chaos-engines/pangyo/docker.sock stopped answering" in r
               for r in journal["reasons"]), journal["reasons"]
    # The faults on the engines that kept answering were healed: chuncheon's messaging runs again,
    # and Toxiproxy (the default engine's) carries no toxic.
    assert all(f["heal_ok"] for f in journal["faults"]), journal["faults"]
    engines = Engines.connect(stack)
    paused = [c.name for c in containers(engines, stack, site="chuncheon") if c.status != "running"]
    assert paused == []
    assert Toxiproxy(stack.toxiproxy_url).toxics_left() == 0
    # The lost host's containers come back with `recover` once its engine answers again.
    recovered = subprocess.run([str(ROOT / ".venv" / "bin" / "chaos-harness"), "recover", "--stack", STACK],
                               capture_output=True, text=True, timeout=600)
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
