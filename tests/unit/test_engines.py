"""A site on an engine of its own (stack.yaml ``engines:``): how stack.yaml declares it, and how the
engine adapter (``chaos.engine``) routes every call to the site's engine. No Docker: fakes with the
Docker SDK's interface, and ``Compose.run`` recorded."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from chaos.engine import (Compose, EngineSpec, Engines, SITE_LABEL, compose_files, containers, engine_env, missing_images,
                          site_client)
from chaos.errors import EnvironmentProblem, ExperimentInvalid
from chaos.stack import find_stack, published_ports

COMPOSE = """\
services:
  db-east: {image: img/db, labels: {chaos.site: east, chaos.role: db}}
  app-east: {image: img/app, labels: {chaos.site: east, chaos.role: app, chaos.service: shop}}
  db-west: {image: img/db, labels: {chaos.site: west, chaos.role: db}}
  proxy: {image: img/proxy, labels: {chaos.site: wan, chaos.role: wan}, ports: ["127.0.0.1:19474:8474"]}
  entry:
    image: img/entry
    labels: {chaos.site: global, chaos.role: entry}
    ports: [{target: 8080, published: "19080", host_ip: 127.0.0.1}]
"""


def write_stack(root: Path, engines: str = "", extra_files: dict | None = None, compose_file: str = "compose.yaml") -> Path:
    folder = root / "shop"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "compose.yaml").write_text(COMPOSE)
    for name, text in (extra_files or {}).items():
        (folder / name).write_text(text)
    (root / "w.py").write_text("")
    (folder / "stack.yaml").write_text(textwrap.dedent(f"""\
        name: shop
        project: chaos-shop
        compose_file: {compose_file}
        sites: [east, west]
        services: [shop]
        entry_url: http://127.0.0.1:19080
        workload: ../w.py
        readback: ../w.py
        """) + engines)
    return folder


def stack_with(tmp_path, engines: str = "", **kw):
    write_stack(tmp_path, engines, **kw)
    return find_stack("shop", tmp_path)


# --- stack.yaml ---------------------------------------------------------------------------------
def test_a_stack_without_engines_has_every_site_on_the_default_engine(tmp_path):
    stack = stack_with(tmp_path)
    assert stack.engines == {}
    assert compose_files(stack) == (tmp_path / "shop" / "compose.yaml",)
    assert Compose(stack).groups() == [(None, ["app-east", "db-east", "db-west", "entry", "proxy"])]


def test_engines_map_sites_to_urls_contexts_and_stop_start_commands(tmp_path):
    stack = stack_with(tmp_path, textwrap.dedent("""\
        engines:
          east: unix:///run/chaos-engines/east/docker.sock
          west: {host: ssh://ops@west-1, stop: ssh ops@west-1 sudo systemctl stop docker, start: ssh ops@west-1 sudo systemctl start docker}
          wan: staging-wan
        """))
    assert stack.engines["east"] == EngineSpec("unix:///run/chaos-engines/east/docker.sock")
    assert stack.engines["west"].stop == "ssh ops@west-1 sudo systemctl stop docker"
    assert stack.engines["west"].cli_args() == ["--host", "ssh://ops@west-1"]
    assert stack.engines["wan"].cli_args() == ["--context", "staging-wan"]


@pytest.mark.parametrize("engines, line, message", [
    ("engines: [east]\n", 9, "expected a mapping of site to a Docker host URL"),
    ("engines:\n  east: ftp://x\n", 10, "expected a Docker host URL"),
    ("engines:\n  east: {stop: x, start: y}\n", 10, "missing required key 'host'"),
    ("engines:\n  east: {host: unix:///x.sock, stop: halt}\n", 10, "give both stop and start"),
    ("engines:\n  east: {host: unix:///x.sock, reboot: now}\n", 10, "reboot"),
    ("engines:\n  'no such site!': unix:///x.sock\n", 10, "site"),
    ("engines:\n  east: 'two words'\n", 10, "expected a Docker host URL or a docker context name"),
])
def test_a_bad_engines_entry_is_refused_with_its_line(tmp_path, engines, line, message):
    with pytest.raises(ExperimentInvalid) as caught:
        stack_with(tmp_path, engines)
    problems = caught.value.problems
    assert any(p.line == line and message in p.message for p in problems), problems


def test_compose_file_may_be_a_list_merged_in_order(tmp_path):
    stack = stack_with(tmp_path, extra_files={"override.yaml": "services: {}\n"},
                       compose_file="[compose.yaml, override.yaml]")
    assert [p.name for p in compose_files(stack)] == ["compose.yaml", "override.yaml"]
    assert stack.compose_file.name == "compose.yaml"
    cmd = Compose(stack)._cmd("ps", engine=EngineSpec("unix:///e.sock"))
    assert cmd[:4] == ["docker", "--host", "unix:///e.sock", "compose"]
    assert cmd[6:10] == ["-f", str(compose_files(stack)[0]), "-f", str(compose_files(stack)[1])]


def test_a_missing_file_in_the_compose_file_list_is_refused(tmp_path):
    with pytest.raises(ExperimentInvalid, match="no such file"):
        stack_with(tmp_path, compose_file="[compose.yaml, nowhere.yaml]")


def test_published_ports_read_the_short_and_the_long_syntax(tmp_path):
    assert published_ports(stack_with(tmp_path)) == {19474, 19080}


# --- routing ------------------------------------------------------------------------------------
class FakeContainer:
    def __init__(self, name, labels):
        self.name, self.labels, self.status = name, labels, "running"


class FakeEngine:
    """The part of a Docker SDK client the harness uses: ``containers.list`` by label, ``images.get``."""

    def __init__(self, name, found=(), images=()):
        self.name, self.found, self.have, self.calls = name, list(found), set(images), []
        self.containers = self
        self.images = self

    def list(self, all=False, filters=None):
        self.calls.append(filters)
        wanted = dict(item.split("=", 1) for item in filters["label"])
        return [c for c in self.found if all_match(c.labels, wanted)]

    def get(self, image):
        import docker.errors

        if image not in self.have:
            raise docker.errors.ImageNotFound(image)
        return image

    def ping(self):
        return True


def all_match(labels, wanted):
    return all(labels.get(k) == v for k, v in wanted.items())


def project(site, name):
    return FakeContainer(name, {"com.docker.compose.project": "chaos-shop", SITE_LABEL: site})


def test_a_call_that_names_a_site_goes_to_that_sites_engine_only(tmp_path):
    stack = stack_with(tmp_path, "engines: {east: unix:///east.sock}\n")
    default = FakeEngine("default", [project("west", "db-west"), project("wan", "proxy")])
    east = FakeEngine("east", [project("east", "db-east"), project("east", "app-east")])
    engines = Engines(stack.engines, {None: default, "east": east})
    assert [c.name for c in containers(engines, stack, site="east")] == ["db-east", "app-east"]
    assert default.calls == []  # the default engine was not asked for east's containers
    assert [c.name for c in containers(engines, stack, site="west")] == ["db-west"]
    assert east.calls[-1]["label"][-1] == "chaos.site=east"
    assert sorted(c.name for c in containers(engines, stack)) == ["app-east", "db-east", "db-west", "proxy"]
    assert site_client(engines, "east") is east and site_client(engines, "wan") is default
    assert site_client(default, "east") is default  # a plain client is every site's engine


def test_compose_groups_services_by_their_sites_engine_and_up_runs_each_with_no_deps(tmp_path, monkeypatch):
    stack = stack_with(tmp_path, "engines: {east: unix:///east.sock, west: unix:///west.sock}\n")
    east, west = stack.engines["east"], stack.engines["west"]
    assert Compose(stack).groups() == [(None, ["entry", "proxy"]), (east, ["app-east", "db-east"]),
                                       (west, ["db-west"])]
    calls = []
    monkeypatch.setattr(Compose, "run", lambda self, *args, engine=None, **kw: calls.append((engine, args)))
    Compose(stack).up()
    assert sorted(calls, key=lambda c: c[0].host if c[0] else "") == [
        (None, ("up", "-d", "--wait", "--wait-timeout", "300", "--no-deps", "entry", "proxy")),
        (east, ("up", "-d", "--wait", "--wait-timeout", "300", "--no-deps", "app-east", "db-east")),
        (west, ("up", "-d", "--wait", "--wait-timeout", "300", "--no-deps", "db-west"))]
    calls.clear()
    Compose(stack).up_services(["db-west", "proxy"])  # a rebuild: each service on its own engine
    assert sorted(calls, key=lambda c: c[0].host if c[0] else "") == [
        (None, ("up", "-d", "--no-deps", "--wait", "--wait-timeout", "300", "proxy")),
        (west, ("up", "-d", "--no-deps", "--wait", "--wait-timeout", "300", "db-west"))]
    calls.clear()
    Compose(stack).down()
    assert [c[0] for c in calls] == [None, east, west]


def test_one_engine_keeps_the_single_command_it_always_ran(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(Compose, "run", lambda self, *args, engine=None, **kw: calls.append((engine, args)))
    Compose(stack_with(tmp_path)).up()
    assert calls == [(None, ("up", "-d", "--wait", "--wait-timeout", "300"))]


def test_an_engine_that_fails_its_up_is_named_after_the_others_finished(tmp_path, monkeypatch):
    stack = stack_with(tmp_path, "engines: {east: unix:///east.sock}\n")
    done = []

    def run(self, *args, engine=None, **kw):
        if engine is not None:
            raise EnvironmentProblem(f"`docker compose up` on {engine.host} failed")
        done.append(args)

    monkeypatch.setattr(Compose, "run", run)
    with pytest.raises(EnvironmentProblem, match="on unix:///east.sock failed"):
        Compose(stack).up()
    assert done  # the default engine's services were still brought up


def test_images_are_checked_on_the_engine_that_runs_them(tmp_path):
    stack = stack_with(tmp_path, "engines: {east: unix:///east.sock}\n")
    default = FakeEngine("default", images={"img/db", "img/proxy", "img/entry", "img/app"})
    east = FakeEngine("east", images={"img/db"})
    assert missing_images(Engines(stack.engines, {None: default, "east": east}), stack) == [
        "img/app on unix:///east.sock"]


def test_an_engine_that_does_not_answer_is_named_with_its_site_and_address(tmp_path):
    stack = stack_with(tmp_path, f"engines: {{east: unix://{tmp_path}/no-engine.sock}}\n")
    with pytest.raises(EnvironmentProblem, match=f"site east's Docker engine at unix://{tmp_path}/no-engine.sock "
                                                 "does not answer"):
        Engines.connect(stack, default=FakeEngine("default"))


def test_commands_of_the_stack_get_each_sites_docker_options(tmp_path):
    stack = stack_with(tmp_path, "engines: {east: unix:///east.sock, wan: staging}\n")
    assert engine_env(stack) == {"CHAOS_DOCKER_EAST": "--host unix:///east.sock", "CHAOS_DOCKER_WEST": "",
                                 "CHAOS_DOCKER_WAN": "--context staging"}


# --- engine_loss and the engine watch ------------------------------------------------------------
EXPERIMENT = """\
name: east-engine-loss
stack: shop
load: {users: 1, spawn_rate: 1, duration_s: 30}
faults:
  - type: engine_loss
    target: {site: east}
    at_s: 5
    returns_after_s: 10
"""


@pytest.mark.parametrize("engines, refused", [
    ("", "runs east on the default engine (which the harness never stops)"),
    ("engines: {east: unix:///east.sock}\n", "needs the commands that stop and start site east's engine"),
    ("engines: {east: {host: unix:///east.sock, stop: s, start: t}}\n", None),
])
def test_engine_loss_is_refused_at_validate_unless_the_site_has_an_engine_it_can_stop(tmp_path, engines, refused):
    from chaos.runner import prepare

    write_stack(tmp_path, engines)
    (tmp_path / "x.yaml").write_text(EXPERIMENT)
    os_env = {"CHAOS_STACKS_DIR": str(tmp_path)}
    with pytest.MonkeyPatch.context() as mp:
        for k, v in os_env.items():
            mp.setenv(k, v)
        if refused is None:
            assert prepare(tmp_path / "x.yaml", None)[0].faults[0].type == "engine_loss"
            return
        with pytest.raises(ExperimentInvalid) as caught:
            prepare(tmp_path / "x.yaml", None)
    [problem] = caught.value.problems
    assert problem.line == 5 and refused in problem.message and "faults[0].target" in problem.path


class SwitchedEngine(FakeEngine):
    """An engine that stops answering while the file ``off`` exists (what its stop command makes)."""

    def __init__(self, off: Path, found=()):
        super().__init__("east", found)
        self.off = off

    def ping(self):
        if self.off.exists():
            raise ConnectionError("engine stopped")
        return True


class Killable(FakeContainer):
    def __init__(self, name, labels, log):
        super().__init__(name, labels)
        self.log = log

    def kill(self, signal):
        self.log.append(("kill", self.name, signal))
        self.status = "exited"

    def reload(self):
        pass

    def start(self):
        self.log.append(("start", self.name))
        self.status = "running"


def test_engine_loss_kills_the_sites_containers_stops_its_engine_and_brings_both_back(tmp_path):
    from chaos.experiment import FaultSpec, Target
    from chaos.faults import FaultContext, IMPLEMENTATIONS

    off = tmp_path / "off"
    stack = stack_with(tmp_path, f"engines: {{east: {{host: unix:///east.sock, stop: touch {off}, start: rm {off}}}}}\n")
    log = []
    labels = {"com.docker.compose.project": "chaos-shop", SITE_LABEL: "east"}
    east = SwitchedEngine(off, [Killable("db-east", labels, log), Killable("app-east", labels, log)])
    engines = Engines(stack.engines, {None: FakeEngine("default"), "east": east})
    spec = FaultSpec("engine_loss", Target(site="east"), 5.0, {"returns_after_s": 10.0})
    fault = IMPLEMENTATIONS["engine_loss"](spec, FaultContext(client=engines, stack=stack))
    done = fault.inject()
    assert sorted(log) == [("kill", "app-east", "SIGKILL"), ("kill", "db-east", "SIGKILL")]
    assert off.exists() and engines.silent() == {"east": "unix:///east.sock"}
    assert "killed 2 containers: app-east, db-east; engine at unix:///east.sock stopped" in done
    log.clear()
    healed = fault.heal()
    assert not off.exists() and engines.silent() == {}
    assert sorted(log) == [("start", "app-east"), ("start", "db-east")]
    assert healed.startswith("engine at unix:///east.sock answers again (its start command took ")
    assert "started 2 containers" in healed


def test_a_stop_command_that_fails_is_an_injection_that_failed(tmp_path):
    from chaos.experiment import FaultSpec, Target
    from chaos.faults import FaultContext, IMPLEMENTATIONS

    stack = stack_with(tmp_path, "engines: {east: {host: unix:///east.sock, stop: exit 7, start: 'true'}}\n")
    labels = {"com.docker.compose.project": "chaos-shop", SITE_LABEL: "east"}
    east = SwitchedEngine(tmp_path / "off", [Killable("db-east", labels, [])])
    fault = IMPLEMENTATIONS["engine_loss"](FaultSpec("engine_loss", Target(site="east"), 5.0, {"returns_after_s": None}),
                                           FaultContext(client=Engines(stack.engines, {None: FakeEngine("d"), "east": east}),
                                                        stack=stack))
    with pytest.raises(RuntimeError, match="stop command failed \\(7\\): exit 7"):
        fault.inject()


def test_an_engine_that_goes_silent_behind_the_harness_makes_the_run_unknown_naming_its_site(tmp_path, monkeypatch):
    import sys as _sys

    _sys.path.insert(0, str(Path(__file__).parent))
    import fake_run
    from chaos.history import load as load_history
    from chaos.run_folder import MARK_ENGINE_LOST

    monkeypatch.setenv("CHAOS_LOCK_DIR", str(tmp_path / "locks"))
    events = fake_run.Events()
    fake_run.install(monkeypatch.setattr, events)
    run = fake_run.make_run(tmp_path / "runs")
    off = tmp_path / "off"
    off.write_text("")  # the engine of site "east" does not answer, and no fault stopped it
    spec = EngineSpec("unix:///east.sock")
    run.docker = Engines({"east": spec}, {None: run.docker, "east": SwitchedEngine(off)})
    journal, code = run.execute()
    marks = [m for m in load_history(run.run_dir).marks if m.name == MARK_ENGINE_LOST]
    assert len(marks) == 1 and marks[0].detail.startswith("site east's engine at unix:///east.sock stopped answering")
    assert journal["verdict"] == "unknown" and code == 3
    assert events.seen.count("injected") == events.seen.count("healed")  # the other engines' faults healed


def test_the_same_run_with_every_engine_answering_passes(tmp_path, monkeypatch):
    import sys as _sys

    _sys.path.insert(0, str(Path(__file__).parent))
    import fake_run

    monkeypatch.setenv("CHAOS_LOCK_DIR", str(tmp_path / "locks"))
    fake_run.install(monkeypatch.setattr, fake_run.Events())
    run = fake_run.make_run(tmp_path / "runs")
    run.docker = Engines({"east": EngineSpec("unix:///east.sock")},
                         {None: run.docker, "east": SwitchedEngine(tmp_path / "off")})
    journal, code = run.execute()
    assert (journal["verdict"], code) == ("pass", 0)
