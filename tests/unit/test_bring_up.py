"""One bring-up policy (chaos.bring_up.ensure_up) for `run`, `up`, the nightly suite and the pytest
plugin: images present, another stack on the same ports refused or taken down under its lock,
compose up, every container healthy. Docker and the compose CLI are stand-ins here."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from chaos import bring_up
from chaos.bring_up import MAKE_ROOM, REFUSE, ensure_up
from chaos.errors import EnvironmentProblem
from chaos.lock import StackLock
from chaos.stack import find_stack

sys.path.insert(0, str(Path(__file__).parent))
import fake_run  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def own_lock_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAOS_LOCK_DIR", str(tmp_path / "locks"))


class Docker:
    """What ensure_up asks the engine: images (``missing``: not there) and containers (``unhealthy``)."""

    def __init__(self, missing=(), unhealthy=()):
        self.missing, self.unhealthy = set(missing), list(unhealthy)
        self.images, self.containers = self, self

    def get(self, name):
        import docker

        if name in self.missing:
            raise docker.errors.ImageNotFound(name)
        return name

    def list(self, all=True, filters=None):
        return list(self.unhealthy)


class Container:
    name, status, attrs, labels = "truth-3s-1", "exited", {"State": {}}, {}

    def reload(self):
        pass


@pytest.fixture
def compose(monkeypatch):
    """Compose as ensure_up drives it: what was asked, in order ((stack, verb, volumes))."""
    calls: list[tuple] = []

    class FakeCompose:
        def __init__(self, stack):
            self.stack = stack

        def up(self, progress=None, every_s=5.0):
            calls.append((self.stack.name, "up"))

        def down(self, volumes=True):
            calls.append((self.stack.name, "down", volumes))

    monkeypatch.setattr(bring_up, "Compose", FakeCompose)
    return calls


def stack(name="single-site"):
    return find_stack(name, ROOT / "stacks")


def test_a_missing_image_is_refused_before_anything_starts(compose):
    with pytest.raises(EnvironmentProblem, match=r"images missing: chaos-harness/app:dev; run `make images`"):
        ensure_up(stack(), Docker(missing={"chaos-harness/app:dev"}))
    assert compose == []


def test_refuse_names_the_stack_on_the_same_ports_and_how_to_take_it_down(compose, monkeypatch):
    monkeypatch.setattr(bring_up, "conflicting_stacks", lambda client, s: ["dual-site"])
    with pytest.raises(EnvironmentProblem, match="stack dual-site is up and publishes the same ports as single-site; "
                                                 "take it down first: chaos-harness down --stack dual-site"):
        ensure_up(stack(), Docker(), clashes=REFUSE)
    assert compose == []


def test_make_room_takes_down_only_the_clashing_stacks_then_brings_this_one_up(compose, monkeypatch):
    monkeypatch.setattr(bring_up, "conflicting_stacks", lambda client, s: ["dual-site"])
    said: list[str] = []
    assert ensure_up(stack(), Docker(), clashes=MAKE_ROOM, say=said.append) == ["dual-site"]
    assert compose == [("dual-site", "down", True), ("single-site", "up")]
    assert "[stack] took down dual-site: it is up on the same ports as single-site" in said


def test_make_room_never_takes_down_a_stack_another_run_holds(compose, monkeypatch):
    # A run on dual-site holds its lock; the nightly wants single-site on the same ports: taking
    # dual-site down would wreck that run's measurement. Refused, naming the holder.
    monkeypatch.setattr(bring_up, "conflicting_stacks", lambda client, s: ["dual-site"])
    with StackLock(stack("dual-site").project, "run 20261130T000000Z-x-dual-site"):
        with pytest.raises(EnvironmentProblem, match="in use by run 20261130T000000Z-x-dual-site"):
            ensure_up(stack(), Docker(), clashes=MAKE_ROOM)
    assert compose == []


def test_fresh_takes_the_stack_down_with_its_volumes_first_under_its_lock(compose, monkeypatch):
    seen_lock = []
    monkeypatch.setattr(bring_up, "conflicting_stacks", lambda client, s: [])
    real_down = bring_up.Compose.down

    def down(self, volumes=True):
        with pytest.raises(EnvironmentProblem, match="in use by pytest session"):  # held by ensure_up
            StackLock(self.stack.project, "someone else").acquire()
        seen_lock.append(True)
        real_down(self, volumes)

    monkeypatch.setattr(bring_up.Compose, "down", down)
    ensure_up(stack(), Docker(), fresh=True, lock_as="pytest session: bring up")
    assert compose == [("single-site", "down", True), ("single-site", "up")] and seen_lock == [True]


def test_a_stack_reused_without_bring_up_is_still_checked_healthy(compose, monkeypatch):
    monkeypatch.setattr(bring_up, "conflicting_stacks", lambda client, s: [])
    monkeypatch.setattr(bring_up, "wait_healthy", lambda client, s, timeout: ["truth-3s-1 (exited)"])
    with pytest.raises(EnvironmentProblem, match=r"not every container is running and healthy after 60 s: "
                                                 r"truth-3s-1 \(exited\)"):
        ensure_up(stack(), Docker(), bring_up=False)
    assert compose == []


def test_an_unknown_clash_policy_is_a_programming_error(compose):
    with pytest.raises(ValueError, match="clash policy 'ignore'"):
        ensure_up(stack(), Docker(), clashes="ignore")


def test_the_up_verb_refuses_a_clash_through_the_same_policy(compose, monkeypatch, capsys):
    from chaos.cli import main
    from chaos.errors import EXIT_ENVIRONMENT

    import chaos.engine

    monkeypatch.setattr(chaos.engine, "docker_client", lambda: Docker())
    monkeypatch.setattr(bring_up, "conflicting_stacks", lambda client, s: ["dual-site"])
    assert main(["up", "--stack", "single-site"]) == EXIT_ENVIRONMENT
    assert "take it down first: chaos-harness down --stack dual-site" in capsys.readouterr().err
    assert compose == []


def test_the_nightly_asks_the_runner_to_make_room(tmp_path, monkeypatch):
    from chaos import nightly

    seen = []

    def run_experiment(path, opts):
        seen.append(opts.make_room)
        raise EnvironmentProblem("stop here")

    monkeypatch.setattr(nightly, "run_experiment", run_experiment)
    (tmp_path / "e.yaml").write_text(fake_run.EXPERIMENT_YAML + "tags: [nightly]\n")
    nightly.run_nightly(tmp_path / "out", experiments_dir=tmp_path, stream=open("/dev/null", "w"))
    assert seen == [True]


def test_a_run_refuses_a_clash_unless_told_to_make_room(tmp_path, monkeypatch):
    events = fake_run.Events()
    fake_run.install(monkeypatch.setattr, events)
    monkeypatch.setattr(bring_up, "conflicting_stacks", lambda client, s: ["dual-site"])
    with pytest.raises(EnvironmentProblem, match="take it down first"):
        fake_run.make_run(tmp_path / "runs").execute()
    assert events.seen == []
