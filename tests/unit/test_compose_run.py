"""Compose.run: output, failures with their tail, the timeout, and progress while it waits
(a stand-in ``docker`` script on PATH, no engine)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chaos.errors import EnvironmentProblem
from chaos.engine import Compose
from chaos.stack import find_stack

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fake_docker(tmp_path, monkeypatch):
    """``docker compose ...`` runs FAKE_DOCKER (a shell snippet) instead."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "docker"
    script.write_text('#!/bin/sh\neval "$FAKE_DOCKER"\n')
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return lambda snippet: monkeypatch.setenv("FAKE_DOCKER", snippet)


def compose():
    return Compose(find_stack("ground-truth", ROOT / "stacks"))


def test_output_is_returned(fake_docker):
    fake_docker('echo "args: $*"')
    done = compose().run("ps")
    assert done.returncode == 0 and done.stdout.startswith("args: compose -p chaos-ground-truth -f ")
    assert done.stdout.rstrip().endswith(" ps")


def test_a_failure_names_the_command_and_its_last_lines(fake_docker):
    fake_docker('for i in $(seq 1 20); do echo "line $i" >&2; done; exit 3')
    with pytest.raises(EnvironmentProblem) as e:
        compose().run("up", "-d")
    text = str(e.value)
    assert text.startswith("`docker compose up -d` failed:\nline 6\n") and text.endswith("line 20")
    assert compose().run("up", check=False).returncode == 3


def test_a_command_outlasting_its_timeout_is_stopped(fake_docker):
    fake_docker("sleep 30")
    with pytest.raises(EnvironmentProblem, match="did not finish in 1 s"):
        compose().run("up", timeout=1)


def test_progress_is_called_while_it_waits(fake_docker):
    fake_docker("sleep 0.7; echo done")
    seen: list[float] = []
    done = compose().run("up", progress=seen.append, every_s=0.2)
    assert done.stdout == "done\n"
    assert len(seen) >= 2 and seen == sorted(seen) and 0.15 < seen[0] < 0.7
