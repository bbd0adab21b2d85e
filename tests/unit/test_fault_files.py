"""A fault is one file: its declaration next to its inject and heal, found without a list.

The proof: a copy of the ``chaos`` package with one module added to ``chaos/faults/`` (and nothing
else changed) validates, describes and plans an experiment that uses the new fault. And what reads
declarations only (the loader, ``plan``) imports no Docker SDK and no HTTP client.
"""

from __future__ import annotations

import json
import pkgutil
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import chaos.faults
from chaos.experiment import FaultSpec, Target
from chaos.faults import IMPLEMENTATIONS, REGISTRY, Fault
from chaos.faults.link import DisableFault, lasts
from chaos.faults.params import FaultDecl, Param
from chaos.loader import load_experiment
from chaos.plan import plan_lines
from chaos.stack import find_stack

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("docker", "requests", "locust")
HELPERS = {"base", "params", "link"}  # the modules of chaos/faults that are not a fault

DRAIN = '''\
"""drain: a service's connections are drained for ``drain_s`` (a fault the test suite adds)."""

from chaos.faults.base import Fault
from chaos.faults.params import FaultDecl, Param


class Drain(Fault):
    decl = FaultDecl(
        type="drain",
        targets=("service",),
        params=(
            Param("share", "number", required=True, min=0, max=1, doc="The share of connections drained."),
            Param("drain_s", "duration", required=True, above=0, doc="Seconds the service stays drained."),
        ),
        duration="drain_s",
        heal_verb="refilled",
        doc="Drain a service's connections.",
    )

    def inject(self) -> str:
        return "drained"

    def heal(self) -> str:
        return "refilled"
'''

EXPERIMENT = """\
name: drain-test
stack: dual-site
load: {users: 2, spawn_rate: 2, duration_s: 60}
faults:
  - {type: drain, target: {service: login}, at_s: 10, share: 0.5, drain_s: 20}
"""


def in_copy(copy: Path, *args: str) -> subprocess.CompletedProcess:
    """``python -m chaos ARGS`` run on the copy of the package under ``copy`` (its working folder)."""
    env = {"PATH": "/usr/bin:/bin", "DOCKER_HOST": "unix:///nonexistent/docker.sock", "HOME": "/tmp",
           "CHAOS_STACKS_DIR": str(ROOT / "stacks")}
    return subprocess.run([sys.executable, "-m", "chaos", *args], capture_output=True, text=True, cwd=copy,
                          env=env, timeout=60)


@pytest.fixture(scope="module")
def copy_with_drain(tmp_path_factory) -> Path:
    """A copy of the ``chaos`` package whose only change is one new file, ``chaos/faults/drain.py``."""
    copy = tmp_path_factory.mktemp("one-file")
    shutil.copytree(ROOT / "chaos", copy / "chaos", ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "chaos" / "faults" / "drain.py").write_text(DRAIN)
    (copy / "drain.yaml").write_text(EXPERIMENT)
    (copy / "bad-drain.yaml").write_text(EXPERIMENT.replace("share: 0.5, drain_s: 20", "share: 2, drains_s: 20"))
    return copy


def test_the_copy_runs_its_own_package(copy_with_drain):
    p = subprocess.run([sys.executable, "-c", "import chaos; print(chaos.__file__)"], capture_output=True,
                       text=True, cwd=copy_with_drain, timeout=60)
    assert Path(p.stdout.strip()).parent == copy_with_drain / "chaos", p.stderr


def test_a_fault_added_as_one_file_is_accepted_by_validate(copy_with_drain):
    p = in_copy(copy_with_drain, "validate", "drain.yaml")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "drain.yaml: ok (drain-test on dual-site, 1 faults, 0 thresholds)"


def test_a_fault_added_as_one_file_has_its_parameters_checked(copy_with_drain):
    p = in_copy(copy_with_drain, "validate", "bad-drain.yaml")
    assert p.returncode == 2
    assert "faults[0].share: must be <= 1, got 2" in p.stderr
    assert "faults[0].drains_s: unknown key 'drains_s'; did you mean 'drain_s'?" in p.stderr
    assert "faults[0]: missing required key 'drain_s'" in p.stderr


def test_a_fault_added_as_one_file_is_in_the_schema(copy_with_drain):
    p = in_copy(copy_with_drain, "schema")
    assert p.returncode == 0, p.stderr
    branches = json.loads(p.stdout)["properties"]["faults"]["items"]["oneOf"]
    drain = next(b for b in branches if b["title"] == "drain")
    assert drain["required"] == ["type", "target", "at_s", "share", "drain_s"]
    assert drain["properties"]["share"] == {"type": "number", "minimum": 0, "maximum": 1,
                                            "description": "The share of connections drained."}
    assert drain["properties"]["drain_s"]["exclusiveMinimum"] == 0
    assert [b["title"] for b in branches] == sorted([*REGISTRY, "drain"])


def test_a_fault_added_as_one_file_is_planned_with_its_duration_and_wording(copy_with_drain):
    p = in_copy(copy_with_drain, "plan", "drain.yaml")
    assert p.returncode == 0, p.stderr
    lines = [line.strip() for line in p.stdout.splitlines()]
    at = lines.index("t=  10.0s  f0 drain on service=login")
    assert lines[at + 1:at + 5] == ["share: 0.5", "drain_s: 20   # s", "Drain a service's connections.",
                                    "t=  30.0s  f0 refilled"]


def test_loader_plan_and_every_fault_module_import_no_docker_and_no_http_client():
    code = ("import sys, chaos.loader, chaos.plan, chaos.faults; "
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules)); print(len(chaos.faults.REGISTRY))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["[]", str(len(REGISTRY))]


def test_every_module_of_chaos_faults_is_one_fault_named_by_its_file():
    modules = {m.name for m in pkgutil.iter_modules(chaos.faults.__path__)} - HELPERS
    assert modules == set(REGISTRY) == set(IMPLEMENTATIONS)
    for name, cls in IMPLEMENTATIONS.items():
        assert cls.__module__ == f"chaos.faults.{name}"
        assert cls.decl is REGISTRY[name] and cls.type == name
        assert cls.needs_toxiproxy == cls.decl.needs_toxiproxy and cls.heal_verb == cls.decl.heal_verb


def test_the_duration_parameter_is_the_declarations():
    assert {t: d.duration for t, d in REGISTRY.items() if d.duration != "duration_s"} == {
        "kill": None, "engine_loss": "returns_after_s", "power_cut": "power_returns_after_s", "site_loss": "rebuild_after_s"}
    site_stop = REGISTRY["site_stop"]
    assert site_stop.heal_after_s({"grace_s": 10, "duration_s": None}) is None
    assert site_stop.heal_after_s({"grace_s": 10, "duration_s": 12.0}) == 12.0
    assert REGISTRY["kill"].heal_after_s({"signal": "SIGKILL"}) is None


def test_a_declaration_is_checked_when_it_is_made():
    with pytest.raises(ValueError, match="not one of its duration parameters"):
        FaultDecl("slow", ("site",), (Param("grace_s", "int", default=1, max=9),), duration="grace_s")
    with pytest.raises(ValueError, match="not one of its duration parameters"):
        FaultDecl("slow", ("site",), (), duration="duration_s")


def test_a_class_that_would_register_wrongly_registers_nothing():
    before = (dict(REGISTRY), dict(IMPLEMENTATIONS))
    with pytest.raises(ValueError, match="already implemented by chaos.faults.kill.Kill"):
        class AnotherKill(Fault):
            decl = REGISTRY["kill"]
    with pytest.raises(ValueError, match="needs_toxiproxy=True"):
        class Darkness(DisableFault):
            decl = FaultDecl("darkness", ("link",), (lasts("it is dark"),), duration="duration_s")
    assert (dict(REGISTRY), dict(IMPLEMENTATIONS)) == before


def test_plan_builds_no_fault_implementation(monkeypatch):
    def built(*_):
        raise AssertionError("plan built a fault implementation")

    monkeypatch.setattr(Fault, "__init__", built)
    experiment = load_experiment(ROOT / "experiments" / "pangyo-fire-chain.yaml")
    lines = plan_lines(experiment, find_stack("dual-site", ROOT / "stacks"))
    assert "  t=  30.0s  f0 healed" in lines
    assert "  t=  75.0s  f1 healed when the load ends" in lines


def test_a_fault_and_a_planned_fault_heal_at_the_same_time():
    from chaos.schedule import Planned

    spec = FaultSpec("site_loss", Target(site="pangyo"), 20.0, {"rebuild_after_s": 30.0})
    fault, planned = IMPLEMENTATIONS["site_loss"](spec, None), Planned(spec, REGISTRY["site_loss"])
    assert (fault.type, fault.heal_verb, fault.heal_after_s) == (planned.type, planned.heal_verb, 30.0)
    assert planned.heal_after_s == 30.0
