"""`chaos-harness stacks` and the doctor's port findings, with a fake Docker client (the SDK's
``containers.list(all=, filters={"label": [...]})`` interface): which stack is up, the ports each
publishes, which other stack holds a port it needs; without an engine the stacks are still listed."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import re

import pytest

from chaos import doctor, stacks
from chaos.cli import main
from chaos.engine import PROJECT_LABEL
from chaos.errors import EnvironmentProblem
from chaos.stacks import DOWN, PARTLY, UNKNOWN, UP, holders, render, survey

ROOT = Path(__file__).resolve().parents[2]
STACKS = ROOT / "stacks"


@dataclass
class FakeContainer:
    name: str
    status: str = "running"
    labels: dict = field(default_factory=dict)


class FakeContainers:
    def __init__(self, by_project: dict[str, list[FakeContainer]]):
        self.by_project = by_project
        self.filters: list[dict] = []

    def list(self, all=False, filters=None):
        self.filters.append(filters)
        project = next(v.split("=", 1)[1] for v in filters["label"] if v.startswith(PROJECT_LABEL + "="))
        return [c for c in self.by_project.get(project, []) if all or c.status == "running"]


class FakeClient:
    def __init__(self, by_project: dict[str, list[FakeContainer]]):
        self.containers = FakeContainers(by_project)


def client_with(**states: list[str]) -> FakeClient:
    """project -> its containers' statuses, e.g. ``chaos_dual_site=["running", "running"]``."""
    return FakeClient({project.replace("_", "-"): [FakeContainer(f"{project}-{i}", s) for i, s in enumerate(statuses)]
                       for project, statuses in states.items()})


def by_name(found):
    return {s.name: s for s in found}


def test_survey_says_which_stack_is_up_and_its_ports():
    found = by_name(survey(client_with(chaos_dual_site=["running"] * 3, chaos_kv_sentinel=["running", "exited"]),
                           STACKS))
    assert found["dual-site"].state == UP and (found["dual-site"].running, found["dual-site"].containers) == (3, 3)
    assert found["kv-sentinel"].state == PARTLY
    assert found["single-site"].state == DOWN
    assert found["dual-site"].ports == (18080, 18474)
    assert found["single-site"].shares == {18080: ("dual-site", "dual-site-no-local-reads"),
                                          18474: ("dual-site", "dual-site-no-local-reads")}
    assert [s.name for s in holders(18080, list(found.values()), but="single-site")] == ["dual-site"]
    assert holders(18080, list(found.values()), but="dual-site") == []


def test_survey_asks_only_for_each_stacks_own_project():
    client = client_with()
    survey(client, STACKS, engines_for=lambda stack, default: default)
    projects = sorted(v for f in client.containers.filters for v in f["label"])
    assert projects == sorted(f"{PROJECT_LABEL}=chaos-{name}" for name in
                              ("dual-site", "dual-site-engines", "dual-site-no-local-reads", "ground-truth",
                               "kv-sentinel", "kv-sentinel-async", "single-site"))


def test_a_stack_whose_site_engine_is_silent_names_it_and_the_survey_goes_on(tmp_path):
    from chaos.errors import EnvironmentProblem

    def silent(stack, default):
        if stack.engines:
            raise EnvironmentProblem("site pangyo's Docker engine at unix:///x.sock does not answer (...)")
        return default

    found = {s.name: s for s in survey(client_with(), STACKS, engines_for=silent)}
    assert found["dual-site-engines"].problem.startswith("site pangyo's Docker engine at unix:///x.sock")
    assert found["dual-site"].problem == "" and found["dual-site"].state == "down"


def test_render_names_the_stack_holding_a_port_another_needs():
    found = survey(client_with(chaos_dual_site=["running"] * 2), STACKS)
    text = render(found, STACKS)
    assert re.search(r"\n  single-site +down  project chaos-single-site, ports 18080, 18474\n", text)
    assert ("port 18080 also published by dual-site (up), dual-site-no-local-reads (down): held now by dual-site"
            in text)
    assert ("port 18080 also published by dual-site-no-local-reads (down), single-site (down): not held by them now"
            in text)


def test_without_an_engine_every_stack_is_still_listed_its_state_unknown():
    found = survey(None, STACKS)
    assert {s.state for s in found} == {UNKNOWN} and len(found) == len(list(STACKS.glob("*/stack.yaml")))
    text = render(found, STACKS, "make setup starts one")
    assert "no Docker engine answers: whether a stack is up is unknown" in text
    assert "held now" not in text and "not held" not in text


def test_a_stack_that_cannot_be_read_is_listed_with_its_problem(tmp_path):
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "stack.yaml").write_text("name: [\n")
    found = survey(client_with(), tmp_path)
    assert [(s.name, s.state) for s in found] == [("broken", UNKNOWN)]
    assert found[0].problem.startswith("cannot be read")
    assert "broken" in render(found, tmp_path)


def test_cli_stacks_lists_and_exits_3_without_an_engine(capsys):
    code = main(["stacks"])  # the unit tests' DOCKER_HOST answers nothing
    out = capsys.readouterr().out
    assert code == 3
    assert "no Docker engine answers" in out and "dual-site" in out and "kv-sentinel-async" in out


def test_cli_stacks_with_an_engine_exits_0(monkeypatch, capsys):
    monkeypatch.setattr("chaos.engine.docker_client", lambda: client_with(chaos_kv_sentinel=["running"]))
    assert main(["stacks"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"\n  kv-sentinel +up \(1/1 containers running\)", out)
    assert "port 18180 also published by kv-sentinel (up): held now by kv-sentinel" in out


@pytest.fixture
def machine(monkeypatch):
    """An engine that answers (the docker CLI stood in for), every port of the stack in use."""
    def cmd(*args):
        if args[:2] == ("docker", "info"):
            return 0, "20.10"
        if args[:3] == ("docker", "compose", "version"):
            return 0, "2.26"
        if args[:3] == ("docker", "image", "ls"):
            return 0, ""
        return 0, ""  # compose config (not JSON: a finding), compose ps: the stack itself runs nothing

    monkeypatch.setattr(doctor, "_cmd", cmd)
    monkeypatch.setattr(doctor, "port_free", lambda port: False)
    monkeypatch.setattr(doctor.Compose, "images", lambda self: [])


def ports(findings):
    return {f.name: f for f in findings if f.name.startswith("port ")}


def test_doctor_names_a_port_held_by_another_of_our_stacks(machine, monkeypatch):
    monkeypatch.setattr(doctor, "docker_client", lambda: client_with(chaos_kv_sentinel=["running"] * 4))
    found = ports(doctor.diagnose("kv-sentinel-async"))
    port = found["port 127.0.0.1:18180"]
    assert not port.ok and port.detail == "held by stack kv-sentinel (up)"
    assert port.fix.startswith("chaos-harness down --stack kv-sentinel --keep-volumes")


def test_doctor_still_says_something_else_for_a_port_none_of_ours_holds(machine, monkeypatch):
    monkeypatch.setattr(doctor, "docker_client", lambda: client_with())
    found = ports(doctor.diagnose("kv-sentinel-async"))
    assert found["port 127.0.0.1:18180"].detail == "in use by something else"


def test_doctor_without_the_sdk_answering_falls_back_to_something_else(machine, monkeypatch):
    def no_engine():
        raise EnvironmentProblem("no Docker engine answers")

    monkeypatch.setattr(doctor, "docker_client", no_engine)
    found = ports(doctor.diagnose("kv-sentinel-async"))
    assert found["port 127.0.0.1:18180"].detail == "in use by something else"
