"""Heal first, log second, on the real ground-truth stack (issue 14): the run folder sits on a small
tmpfs that a filler makes full right after the fault lands. Every fault must still be healed (the
killed container runs and is healthy again), and the run must end ``unknown`` with exit 3 naming
what could not be written, never a verdict on a history with holes in it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chaos.engine import containers, docker_client

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]

EXPERIMENT = """\
name: full-disk
stack: ground-truth
load: {users: 5, spawn_rate: 50, duration_s: 20}
faults:
  - {type: kill, target: {service: truth-3s}, at_s: 5}
recovery_wait_s: 30
"""


@pytest.fixture
def tiny_disk(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(disk)]).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    yield disk
    subprocess.run(["umount", "-l", str(disk)])


def fill(disk: Path) -> None:
    with open(disk / "filler", "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 65536)
        except OSError:
            pass


def test_a_disk_that_fills_during_the_fault_still_heals_and_the_run_is_unknown(chaos_stacks, tiny_disk, tmp_path):
    stack = chaos_stacks.use("ground-truth")
    exp = tmp_path / "full-disk.yaml"
    exp.write_text(EXPERIMENT)
    runs = tiny_disk / "runs"
    proc = subprocess.Popen([sys.executable, "-m", "chaos", "run", str(exp), "--no-up", "--runs-dir", str(runs),
                             "--json"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    landed = False
    while time.monotonic() < deadline and not landed and proc.poll() is None:
        time.sleep(0.2)
        for f in runs.glob("*/history/faults.jsonl"):
            landed = any(json.loads(line).get("step") == "done" for line in f.read_text().splitlines())
    assert landed, proc.communicate()[1][-3000:] if proc.poll() is not None else "the fault did not land in time"
    killed = containers(docker_client(), stack, service="truth-3s")
    assert killed and all(c.status != "running" for c in killed)  # the fault is in force
    fill(tiny_disk)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 3, err[-3000:]
    journal = json.loads(out)
    assert journal["verdict"] == "unknown"
    assert journal["reasons"][0].startswith("the experiment did not run as written: ")
    # Locust writes a record a request: its recorder is the first to meet the full disk.
    assert "the load's requests did not all reach the history" in journal["reasons"][0]
    # The heal ran although the disk was full: the killed container is back and healthy.
    for c in containers(docker_client(), stack, service="truth-3s"):
        c.reload()
        assert c.status == "running"
        assert (c.attrs["State"].get("Health") or {}).get("Status", "healthy") in ("healthy", "starting")
    (run_dir,) = runs.iterdir()
    steps = [json.loads(line)["step"] for line in (run_dir / "history" / "faults.jsonl").read_text().splitlines()
             if json.loads(line).get("kind") == "fault"]
    assert steps == ["invoked", "done", "heal_invoked", "healed"]
