"""stacks/ground-truth/service/truth.py, run as a process on a free loopback port (no Docker): the
outage it promises is exactly what it does, since the harness's RTO is checked against it."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TRUTH = ROOT / "stacks" / "ground-truth" / "service" / "truth.py"
OUTAGE_S = 0.6


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


@pytest.fixture
def truth():
    env = dict(os.environ, OUTAGE_S=str(OUTAGE_S), PORT="0", HOST="127.0.0.1", PREFIX="/truth-x")
    proc = subprocess.Popen([sys.executable, "-u", str(TRUTH)], env=env, stdout=subprocess.PIPE, text=True)
    try:
        first = json.loads(proc.stdout.readline())
        assert first["event"] == "listening" and first["prefix"] == "/truth-x", first
        yield proc, f"http://127.0.0.1:{first['port']}/truth-x"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=5)


def test_sigusr1_makes_ping_fail_for_exactly_outage_s(truth):
    proc, base = truth
    assert get(base + "/ping") == 200
    sent = time.monotonic()
    proc.send_signal(signal.SIGUSR1)
    seen = []  # (monotonic time the request started, status)
    while time.monotonic() - sent < OUTAGE_S + 0.5:
        seen.append((time.monotonic(), get(base + "/ping")))
        if seen[-1][1] == 503:
            assert get(base + "/health") == 200  # the health path never sees the outage
        time.sleep(0.005)
    start = json.loads(proc.stdout.readline())
    end = json.loads(proc.stdout.readline())
    assert start["event"] == "outage_start" and end["event"] == "outage_end"
    assert start["outage_s"] == OUTAGE_S
    assert end["end_mono"] - start["start_mono"] == pytest.approx(OUTAGE_S, abs=1e-6)
    assert end["end_wall"] - start["start_wall"] == pytest.approx(OUTAGE_S, abs=1e-6)
    assert 0 <= start["start_mono"] - sent < 0.1  # the outage starts at the signal's receipt
    # Every request that started after the end is ok; every one that ended before it failed.
    assert {s for t, s in seen if t >= end["end_mono"]} == {200}
    failing = [t for t, s in seen if s == 503]
    assert failing and failing[0] - sent < 0.1
    assert end["end_mono"] - 0.05 < failing[-1] < end["end_mono"]
    assert set(s for _, s in seen) == {200, 503}


def test_a_second_signal_restarts_the_outage(truth):
    proc, base = truth
    proc.send_signal(signal.SIGUSR1)
    time.sleep(OUTAGE_S / 2)
    proc.send_signal(signal.SIGUSR1)
    time.sleep(OUTAGE_S * 0.75)  # past the first outage's end, inside the second one
    assert get(base + "/ping") == 503
    time.sleep(OUTAGE_S * 0.5)
    assert get(base + "/ping") == 200
    events = [json.loads(proc.stdout.readline()) for _ in range(3)]
    assert [e["event"] for e in events] == ["outage_start", "outage_start", "outage_end"]
    assert events[2]["outage"] == 2  # the superseded outage logs no end


def test_unknown_paths_are_404_and_sigterm_stops_it(truth):
    proc, base = truth
    assert get(base + "/nope") == 404
    assert get(base.rsplit("/", 1)[0] + "/other/ping") == 404
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=5) == 0


def test_readback_has_nothing_to_read():
    spec = importlib.util.spec_from_file_location("ground_truth_readback",
                                                  ROOT / "stacks" / "ground-truth" / "readback.py")
    readback = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(readback)
    assert readback.read_back("http://127.0.0.1:1", {}) == {}
