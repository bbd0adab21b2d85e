"""site_loss (the fire) and power_cut against a fake Docker client and a fake Compose; no Docker.

The fake has the Docker SDK's surface the faults use: ``client.containers.list(all=, filters=)``
with label filters ANDed as the engine does, ``container.kill(signal=)``, ``remove(v=, force=)``,
``reload()``, ``start()``, ``attrs["Mounts"]``, ``labels``; ``client.volumes.get(name)`` raising
``docker.errors.NotFound``, ``volume.remove(force=)``, ``volume.attrs["Labels"]``. Every act goes
into one journal, so the order of the steps can be checked.
"""

from __future__ import annotations

import dataclasses

import subprocess
from pathlib import Path

import docker.errors
import pytest

from chaos.errors import EnvironmentProblem
from chaos.experiment import FaultSpec, Target
from chaos.faults import IMPLEMENTATIONS, FaultContext
from chaos.faults.params import REGISTRY
from chaos.faults.site_loss import named_volumes
from chaos.engine import Compose
from chaos.stack import find_stack

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "chaos-dual-site"


class FakeVolume:
    def __init__(self, engine: "FakeDocker", name: str, project: str | None):
        self.engine, self.name = engine, name
        self.attrs = {"Name": name, "Driver": "local",
                      "Labels": {"com.docker.compose.project": project} if project else None}

    def remove(self, force: bool = False) -> None:
        users = [c.name for c in self.engine.all if self.name in named_volumes(c)]
        if users:
            raise docker.errors.APIError(f"remove {self.name}: volume is in use - {users}")
        self.engine.journal.append(("remove_volume", self.name))
        del self.engine.volume_store[self.name]


class FakeContainer:
    def __init__(self, engine: "FakeDocker", name: str, project: str, site: str, service: str,
                 status: str = "running", volumes: tuple[str, ...] = (), binds: tuple[str, ...] = ()):
        self.engine, self.name, self.status = engine, name, status
        self.labels = {"com.docker.compose.project": project, "com.docker.compose.service": service,
                       "chaos.site": site}
        mounts = [{"Type": "volume", "Name": v, "Source": f"/var/lib/docker/volumes/{v}/_data",
                   "Destination": "/data", "Driver": "local", "RW": True} for v in volumes]
        mounts += [{"Type": "bind", "Source": b, "Destination": "/stack", "RW": False} for b in binds]
        self.attrs = {"Name": "/" + name, "Config": {"Labels": self.labels}, "Mounts": mounts}
        self.fail_kill = False

    def reload(self) -> None:
        pass

    def kill(self, signal=None) -> None:
        if self.fail_kill:
            raise docker.errors.APIError(f"cannot kill {self.name}")
        if self.status not in ("running", "paused"):
            raise docker.errors.APIError(f"container {self.name} is not running")
        self.engine.journal.append(("kill", self.name, signal))
        self.status = "exited"

    def remove(self, v: bool = False, force: bool = False) -> None:
        if self.status == "running" and not force:
            raise docker.errors.APIError(f"you cannot remove a running container {self.name}")
        assert v is False, "anonymous volumes are not the fire's business; named ones are removed one by one"
        self.engine.journal.append(("remove_container", self.name))
        self.engine.all.remove(self)

    def start(self) -> None:
        self.engine.journal.append(("start", self.name))
        self.status = "running"

    def unpause(self) -> None:
        self.status = "running"


class FakeDocker:
    """Containers and volumes of an engine; ``containers`` and ``volumes`` are the SDK's collections."""

    def __init__(self):
        self.all: list[FakeContainer] = []
        self.volume_store: dict[str, FakeVolume] = {}
        self.journal: list[tuple] = []
        self.containers = _Containers(self)
        self.volumes = _Volumes(self)

    def add(self, name: str, site: str, project: str = PROJECT, status: str = "running",
            volumes: tuple[str, ...] = (), binds: tuple[str, ...] = (), service: str | None = None,
            volume_project: str | None = "same") -> FakeContainer:
        service = service or name
        container = FakeContainer(self, f"{project}-{name}-1", project, site, service, status, volumes, binds)
        self.all.append(container)
        for v in volumes:
            owner = project if volume_project == "same" else volume_project
            self.volume_store.setdefault(v, FakeVolume(self, v, owner))
        return container


class _Containers:
    def __init__(self, engine: FakeDocker):
        self.engine = engine

    def list(self, all: bool = False, filters: dict | None = None) -> list[FakeContainer]:
        wanted = [label.split("=", 1) for label in (filters or {}).get("label", [])]
        return [c for c in self.engine.all
                if (all or c.status == "running") and all_match(c.labels, wanted)]


def all_match(labels: dict, wanted: list[list[str]]) -> bool:
    return all(labels.get(key) == value for key, value in wanted)


class _Volumes:
    def __init__(self, engine: FakeDocker):
        self.engine = engine

    def get(self, name: str) -> FakeVolume:
        if name not in self.engine.volume_store:
            raise docker.errors.NotFound(f"get {name}: no such volume")
        return self.engine.volume_store[name]


@pytest.fixture
def stack():
    return find_stack("dual-site", ROOT / "stacks")


@pytest.fixture
def compose(monkeypatch):
    """Compose.run recorded instead of run: (project, args, timeout) per call."""
    calls = []

    def run(self, *args, timeout=600, check=True, engine=None):
        calls.append((self.stack.project, args, timeout))
        return subprocess.CompletedProcess(["docker", "compose", *args], 0, "", "")

    monkeypatch.setattr(Compose, "run", run)
    return calls


def dual_site() -> FakeDocker:
    engine = FakeDocker()
    engine.add("etcd-pangyo", "pangyo", volumes=(f"{PROJECT}_etcd-pangyo",))
    engine.add("pg-pangyo", "pangyo", volumes=(f"{PROJECT}_pg-pangyo",), binds=("/stacks/dual-site/config",))
    engine.add("dbrouter-pangyo", "pangyo", status="exited", binds=("/stacks/dual-site/config",))
    engine.add("login-pangyo", "pangyo", status="paused", binds=("/repo/.cache/secrets/token_ed25519.pem",))
    engine.add("pg-chuncheon", "chuncheon", volumes=(f"{PROJECT}_pg-chuncheon",))
    engine.add("etcd-witness", "witness", volumes=(f"{PROJECT}_etcd-witness",))
    # Another compose project on the same engine, with the same site label: never touched.
    engine.add("pg-pangyo", "pangyo", project="someone-else", volumes=("someone-else_pg-pangyo",))
    return engine


def make(kind: str, target: Target, stack, client, **params):
    full = {p.name: p.default for p in REGISTRY[kind].params} | params
    return IMPLEMENTATIONS[kind](FaultSpec(kind, target, 20.0, full), FaultContext(client=client, stack=stack))


PANGYO_SERVICES = ["dbrouter-pangyo", "etcd-pangyo", "login-pangyo", "pg-pangyo"]


def test_the_fire_kills_then_removes_the_containers_then_the_volumes(stack, compose):
    engine = dual_site()
    fault = make("site_loss", Target(site="pangyo"), stack, engine, rebuild_after_s=30.0)
    detail = fault.inject()
    steps = [entry[0] for entry in engine.journal]
    assert steps == ["kill"] * 3 + ["remove_container"] * 4 + ["remove_volume"] * 2
    assert {e[1] for e in engine.journal if e[0] == "kill"} == {
        f"{PROJECT}-etcd-pangyo-1", f"{PROJECT}-pg-pangyo-1", f"{PROJECT}-login-pangyo-1"}
    assert all(e[2] == "SIGKILL" for e in engine.journal if e[0] == "kill")
    removed = {e[1] for e in engine.journal if e[0] == "remove_volume"}
    assert removed == {f"{PROJECT}_etcd-pangyo", f"{PROJECT}_pg-pangyo"}
    assert fault.services == PANGYO_SERVICES
    assert fault.destroyed == [f"{PROJECT}_etcd-pangyo", f"{PROJECT}_pg-pangyo"]
    assert detail.startswith("killed 3 containers, removed 4: ")
    assert f"destroyed 2 volumes: {PROJECT}_etcd-pangyo, {PROJECT}_pg-pangyo" in detail
    assert detail.endswith("; rebuild recreates services: dbrouter-pangyo, etcd-pangyo, login-pangyo, pg-pangyo")
    assert compose == []


def test_the_fire_leaves_other_sites_and_other_projects_alone(stack, compose):
    engine = dual_site()
    fault = make("site_loss", Target(site="pangyo"), stack, engine)
    fault.inject()
    left = {(c.labels["com.docker.compose.project"], c.name, c.status) for c in engine.all}
    assert left == {(PROJECT, f"{PROJECT}-pg-chuncheon-1", "running"),
                    (PROJECT, f"{PROJECT}-etcd-witness-1", "running"),
                    ("someone-else", "someone-else-pg-pangyo-1", "running")}
    assert set(engine.volume_store) == {f"{PROJECT}_pg-chuncheon", f"{PROJECT}_etcd-witness", "someone-else_pg-pangyo"}


def test_a_volume_of_another_project_mounted_at_the_site_is_spared_and_named(stack, compose):
    engine = dual_site()
    engine.add("backup-pangyo", "pangyo", volumes=("shared-backups",), volume_project="backups")
    engine.add("cache-pangyo", "pangyo", volumes=("external-cache",), volume_project=None)
    detail = make("site_loss", Target(site="pangyo"), stack, engine).inject()
    assert {"shared-backups", "external-cache"} <= set(engine.volume_store)
    assert f"(left alone, not of project {PROJECT}: external-cache, shared-backups)" in detail


def test_the_rebuild_runs_compose_up_for_exactly_the_site_services(stack, compose):
    engine = dual_site()
    fault = make("site_loss", Target(site="pangyo"), stack, engine, rebuild_after_s=30.0)
    assert fault.heal_after_s == 30.0
    fault.inject()
    assert fault.heal() == ("rebuilt 4 services from the survivors: "
                            "dbrouter-pangyo, etcd-pangyo, login-pangyo, pg-pangyo")
    wait = str(int(stack.ready_timeout_s))
    assert compose == [(PROJECT, ("up", "-d", "--no-deps", "--wait", "--wait-timeout", wait, *PANGYO_SERVICES),
                        int(wait) + 60)]
    fault.heal()  # up -d of services that run is a no-op: healing again is safe
    assert compose[1] == compose[0]
    assert engine.journal.count(("start", f"{PROJECT}-pg-chuncheon-1")) == 0


def test_the_rebuild_command_is_the_compose_cli_of_the_stack(stack, monkeypatch):
    seen = []

    class Popen:  # the compose CLI, recorded instead of run
        def __init__(self, cmd, **kw):
            seen.append(cmd)
            self.args, self.pid, self.returncode = cmd, 0, 0

        def communicate(self, timeout=None):
            return "", ""

        def poll(self):
            return 0

    monkeypatch.setattr(subprocess, "Popen", Popen)
    fault = make("site_loss", Target(site="pangyo"), stack, dual_site())
    fault.inject()
    fault.heal()
    (cmd,) = seen
    assert cmd[:6] == ["docker", "compose", "-p", PROJECT, "-f", str(stack.compose_file)]
    assert cmd[6:10] == ["up", "-d", "--no-deps", "--wait"]
    assert cmd[-4:] == PANGYO_SERVICES


def test_a_failed_rebuild_surfaces_for_the_runner_to_record(stack, monkeypatch):
    def fail(self, *args, timeout=600, check=True, engine=None):
        raise EnvironmentProblem("`docker compose up` failed:\ndependency failed to start")

    monkeypatch.setattr(Compose, "run", fail)
    fault = make("site_loss", Target(site="pangyo"), stack, dual_site())
    fault.inject()
    with pytest.raises(EnvironmentProblem, match="dependency failed"):
        fault.heal()


def test_a_fire_stopped_half_way_is_still_rebuilt(stack, compose):
    engine = dual_site()
    engine.all[1].fail_kill = True  # pg-pangyo
    fault = make("site_loss", Target(site="pangyo"), stack, engine)
    with pytest.raises(RuntimeError, match=f"site loss \\(power cut\\) incomplete: {PROJECT}-pg-pangyo-1: cannot kill"):
        fault.inject()
    assert not [e for e in engine.journal if e[0].startswith("remove")]  # no disk burns after a failed kill
    assert fault.services == PANGYO_SERVICES
    fault.heal()
    assert compose[0][1][-4:] == tuple(PANGYO_SERVICES)


def test_a_second_fire_on_a_burnt_site_finds_nothing_and_heal_without_a_fire_does_nothing(stack, compose):
    engine = dual_site()
    fault = make("site_loss", Target(site="pangyo"), stack, engine)
    untouched = make("site_loss", Target(site="pangyo"), stack, engine)
    assert untouched.heal() == "nothing to rebuild: the fire found no container of the site"
    fault.inject()
    with pytest.raises(Exception, match="no container of stack dual-site matches site=pangyo"):
        untouched.inject()
    assert compose == []


def test_a_volume_already_gone_is_fine(stack, compose):
    engine = dual_site()
    del engine.volume_store[f"{PROJECT}_etcd-pangyo"]
    fault = make("site_loss", Target(site="pangyo"), stack, engine)
    assert "destroyed 1 volumes" in fault.inject()


def test_site_loss_is_declared_with_its_rebuild_delay():
    decl = REGISTRY["site_loss"]
    assert decl.targets == ("site",)
    (param,) = decl.params
    assert (param.name, param.kind, param.default, param.nullable) == ("rebuild_after_s", "duration", None, True)
    spec = FaultSpec("site_loss", Target(site="pangyo"), 1.0, {"rebuild_after_s": None})
    assert IMPLEMENTATIONS["site_loss"](spec, None).heal_after_s is None


# power_cut shares the kill with site_loss (chaos.faults.base.cut_power).


def test_power_cut_kills_the_running_and_paused_and_heal_starts_them(stack):
    engine = dual_site()
    fault = make("power_cut", Target(site="pangyo"), stack, engine, power_returns_after_s=5.0)
    assert fault.heal_after_s == 5.0
    assert fault.inject() == (f"killed 3 containers: {PROJECT}-etcd-pangyo-1, {PROJECT}-login-pangyo-1, "
                              f"{PROJECT}-pg-pangyo-1")
    assert not [e for e in engine.journal if e[0].startswith("remove")]
    assert fault.heal() == "started 4 containers"
    assert {c.status for c in engine.all} == {"running"}
    assert len(engine.volume_store) == 5


# recover: a harness killed between the fire and the rebuild leaves services without a container.


def test_recover_rebuilds_the_services_a_fire_left_without_containers(stack, compose, monkeypatch):
    import chaos.recover

    stack = dataclasses.replace(stack, toxiproxy_url=None)  # no Toxiproxy to reset in a unit test
    engine = FakeDocker()
    burnt = ["dbrouter-pangyo", "etcd-pangyo", "login-pangyo", "messaging-pangyo", "payment-pangyo", "pg-pangyo"]
    for service in Compose(stack).services():
        if service not in burnt:
            engine.add(service, "x", status="exited" if service == "toxiproxy" else "running")
    monkeypatch.setattr(chaos.recover, "find_stack", lambda name: stack)
    assert chaos.recover.missing_services(engine, stack) == burnt
    report = chaos.recover.recover("dual-site", engine)
    assert report[0].endswith("1 restarted or unpaused")
    assert report[1] == f"rebuilt 6 services that had no container: {', '.join(burnt)}"
    assert compose == [(PROJECT, ("up", "-d", "--no-deps", "--wait", "--wait-timeout", "420", *burnt), 480)]


def test_recover_leaves_a_stack_that_is_down_alone(stack, compose, monkeypatch):
    import chaos.recover

    monkeypatch.setattr(chaos.recover, "find_stack", lambda name: dataclasses.replace(stack, toxiproxy_url=None))
    assert chaos.recover.recover("dual-site", FakeDocker()) == [f"containers: 0 in project {PROJECT}, 0 restarted or unpaused"]
    assert compose == []
