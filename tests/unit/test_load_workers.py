"""load.workers and load.remote_workers in an experiment file: defaults, bounds, and their sum."""

from __future__ import annotations

import pytest

from chaos.errors import ExperimentInvalid
from chaos.loader import json_schema, load_experiment_text


def experiment(load: str):
    return load_experiment_text(f"name: demo\nstack: dual-site\nload:\n{load}", "demo.yaml")


def problems(load: str) -> list:
    with pytest.raises(ExperimentInvalid) as caught:
        experiment(load)
    return caught.value.problems


BASE = "  users: 8\n  spawn_rate: 8\n  duration_s: 30\n"


def test_one_process_by_default():
    load = experiment(BASE).load
    assert (load.workers, load.remote_workers) == (1, 0)


def test_workers_and_remote_workers():
    load = experiment(BASE + "  workers: 4\n  remote_workers: 2\n").load
    assert (load.workers, load.remote_workers) == (4, 2)


@pytest.mark.parametrize("text, message", [
    ("  workers: 0\n", "load.workers: must be >= 1, got 0"),
    ("  workers: 65\n", "load.workers: must be <= 64, got 65"),
    ("  workers: two\n", "load.workers: expected an integer, got 'two'"),
    ("  remote_workers: -1\n", "load.remote_workers: must be >= 0, got -1"),
])
def test_bounds_are_reported_with_their_line(text, message):
    (problem,) = problems(BASE + text)
    assert problem.line == 7 and str(problem).startswith("demo.yaml:7:") and message in str(problem)


def test_more_remote_workers_than_workers_is_refused_at_its_line():
    (problem,) = problems(BASE + "  workers: 2\n  remote_workers: 3\n")
    assert (problem.line, problem.path) == (8, "load.remote_workers")
    assert "3 remote workers is more than workers (2" in problem.message and "workers: 3 or more" in problem.message


def test_the_schema_knows_them():
    load = json_schema()["properties"]["load"]["properties"]
    assert load["workers"]["minimum"] == 1 and load["remote_workers"]["minimum"] == 0
