"""chaos.load.locust_group: a real Locust master and two local workers (subprocesses on 127.0.0.1)
against a static HTTP server in this process. No Docker; the two tests that take about 10 s each
(a killed worker, a remote one) carry the integration marker for their duration alone."""

import http.server
import os
import re
import signal
import threading
import time

import pytest

from chaos.checks.builtin import ran_as_written
from chaos.checks.verdict import Verdict
from chaos.experiment import Load
from chaos.history import load
from chaos.load.locust_group import LocustGroup, load_process
from chaos.load.locust_process import LocustProcess
from chaos.run_folder import (INTEGRITY_MARKS, MARK_RECORDS_LOST, MARK_WORKER_CLOCK, MARK_WORKER_LOST,
                              MASTER_HISTORY, history_dir, load_history_name)

SKEW_S = 1000.0

LOCUSTFILE = f"""
import os
import time

from locust import FastHttpUser, constant_pacing, task

from chaos.load import recorder
from chaos.load.recorder import request

if os.environ.get("CHAOS_WORKER_NAME") == "w2":  # this worker's clock is {SKEW_S:g} s ahead
    recorder._monotonic = lambda: time.monotonic() + {SKEW_S!r}


class Person(FastHttpUser):
    wait_time = constant_pacing(0.05)

    @task
    def get(self):
        request(self.client, "GET", "/", service="static", op="get")
"""


class Static(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a worker killed mid-request resets its connection: not news here


@pytest.fixture(scope="module")
def static_url():
    server = Server(("127.0.0.1", 0), Static)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def run_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    history_dir(tmp_path).mkdir()
    (tmp_path / "workload.py").write_text(LOCUSTFILE)
    return tmp_path


def group(run_dir, url, duration_s):
    return LocustGroup(run_dir / "workload.py", url, Load(users=4, spawn_rate=100, duration_s=duration_s),
                       history_dir(run_dir), run_dir / "locust.log", local=2)


def master_marks(run_dir, name):
    return [m for m in load(run_dir).marks if m.name == name]


def test_one_history_from_two_workers_one_with_a_skewed_clock(run_dir, static_url):
    g = group(run_dir, static_url, duration_s=2)
    before = time.monotonic()
    g.start()
    while g.running():
        time.sleep(0.05)
    after = time.monotonic()
    assert g.stop() == 0 and g.returncode == 0 and g.proc.returncode == 0
    assert g.lost_workers() == []
    history = load(run_dir)
    assert not [m for m in history.marks if m.name in INTEGRITY_MARKS]
    files = sorted(p.name for p in history_dir(run_dir).iterdir())
    assert files == sorted([load_history_name("w1"), load_history_name("w2"), MASTER_HISTORY])
    # Every request Locust counted reached the history (Locust's last stats report may even miss some).
    counted = int(re.search(r"Aggregated\s+(\d+)", (run_dir / "locust.log").read_text()).group(1))
    assert len(history.ops) >= counted > 0
    # The skewed worker's records are on the harness's clock, within the bound the history states.
    bound = {m.worker: m.bound for m in _clock_records(run_dir)}
    assert set(bound) == {"w1", "w2"} and max(bound.values()) < 0.5
    for o in history.ops:
        assert before - 0.5 <= o.mono <= after
    for r in _op_records(run_dir, "w2"):
        assert abs(r["worker_mono"] - r["mono"] - SKEW_S) <= bound["w2"]


@pytest.mark.integration  # no Docker: ~10 s (the master waits for the dead worker's final batch)
def test_a_worker_killed_mid_run_is_reported_and_the_run_is_unknown(run_dir, static_url):
    g = group(run_dir, static_url, duration_s=30)
    g.start()
    time.sleep(1.5)
    (_, victim), = [(n, p) for n, p in g.workers if n == "w2"]
    os.kill(victim.proc.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    lost = []
    while not lost and time.monotonic() < deadline:
        lost = g.lost_workers()
        time.sleep(0.05)
    (exit_,) = lost
    assert exit_.name == "w2" and exit_.returncode == -signal.SIGKILL
    assert "w2" in exit_.describe() and "signal 9" in exit_.describe()
    assert g.running()  # the other worker carries on
    g.stop()  # SIGTERM: the master collects w1's final batch, gives up on w2's
    assert g.lost_workers() == []  # each said once
    history = load(run_dir)
    (worker_lost,) = [m for m in history.marks if m.name == MARK_WORKER_LOST]
    assert "w2" in worker_lost.detail
    (records_lost,) = [m for m in history.marks if m.name == MARK_RECORDS_LOST]
    assert "w2" in records_lost.detail and "final batch never arrived" in records_lost.detail
    assert {o.service for o in history.ops} == {"static"} and "w1" in _workers_of_ops(run_dir)
    result = ran_as_written(history)
    assert result.verdict == Verdict.UNKNOWN and "worker w2" in result.detail


def test_one_worker_is_todays_single_process(tmp_path):
    load_ = Load(users=1, spawn_rate=1, duration_s=5)
    assert isinstance(load_process(tmp_path / "w.py", "http://127.0.0.1:1", load_, tmp_path, tmp_path / "l.log"),
                      LocustProcess)


def _op_records(run_dir, worker):
    import json

    path = history_dir(run_dir) / load_history_name(worker)
    return [json.loads(line) for line in path.read_text().splitlines()]


def _workers_of_ops(run_dir):
    return {r["worker"] for w in ("w1", "w2") if (history_dir(run_dir) / load_history_name(w)).exists()
            for r in _op_records(run_dir, w)}


class _ClockMark:
    def __init__(self, record):
        self.worker, self.bound = record["worker"], record["bound"]


def _clock_records(run_dir):
    import json

    lines = (history_dir(run_dir) / MASTER_HISTORY).read_text().splitlines()
    return [_ClockMark(r) for r in map(json.loads, lines) if r["name"] == MARK_WORKER_CLOCK]


@pytest.mark.integration  # no Docker: ~8 s
def test_a_remote_worker_started_as_chaos_harness_worker_joins_the_one_history(run_dir, static_url):
    """``chaos-harness worker`` (``run_worker``) as a remote machine would run it: the master waits
    for it, its records reach the master's history under its name, and its --entry-url replaces the
    master's entry point (here the master's is dead, so only the remote worker's requests succeed)."""
    from chaos.load.locust_group import free_port, run_worker

    port = free_port()
    g = LocustGroup(run_dir / "workload.py", "http://127.0.0.1:1", Load(users=4, spawn_rate=100, duration_s=2),
                    history_dir(run_dir), run_dir / "locust.log", local=1, remote=1, port=port)
    codes = []
    remote = threading.Thread(target=lambda: codes.append(
        run_worker(run_dir / "workload.py", f"127.0.0.1:{port}", name="far", entry_url=static_url)))
    remote.start()
    g.start()  # returns once both workers are in
    while g.running():
        time.sleep(0.05)
    assert g.stop() == 0
    remote.join(timeout=30)
    assert codes == [0]
    history = load(run_dir)
    assert not [m for m in history.marks if m.name in INTEGRITY_MARKS]
    far, near = _op_records(run_dir, "far"), _op_records(run_dir, "w1")
    assert far and near
    assert {r["outcome"] for r in far} == {"ok"} and {r["outcome"] for r in near} == {"fail"}


def test_a_master_address_that_is_not_host_port_is_refused():
    from chaos.errors import InvalidInput
    from chaos.load.locust_group import parse_master

    assert parse_master("10.0.0.5:5557") == ("10.0.0.5", 5557)
    assert parse_master("[::1]:5557") == ("::1", 5557)
    for bad in ("10.0.0.5", ":5557", "host:0", "host:http"):
        with pytest.raises(InvalidInput, match="expected HOST:PORT"):
            parse_master(bad)


def test_more_workers_is_a_master_and_workers(tmp_path):
    load_ = Load(users=8, spawn_rate=8, duration_s=5, workers=3, remote_workers=1)
    g = load_process(tmp_path / "w.py", "http://127.0.0.1:1", load_, tmp_path, tmp_path / "locust.log")
    assert isinstance(g, LocustGroup) and (g.local, g.remote) == (2, 1)
    assert g.port == 5557  # remote workers are told a port before the run starts: Locust's own
    assert g.master.cmd[g.master.cmd.index("--expect-workers") + 1] == "3"
    assert [name for name, _ in g.workers] == ["w1", "w2"]
    assert all("CHAOS_HISTORY_DIR" not in proc.env for _, proc in g.workers)  # the master writes, no worker


def test_the_worker_verb_refuses_a_bad_master_address(capsys):
    from chaos.cli import main

    assert main(["worker", "--master", "nope", "--stack", "dual-site"]) == 2
    assert "--master 'nope': expected HOST:PORT" in capsys.readouterr().err


def test_a_load_that_cannot_start_is_an_environment_problem_with_the_log(run_dir):
    from chaos.errors import EnvironmentProblem

    (run_dir / "workload.py").write_text("import no_such_module_anywhere\n")
    g = group(run_dir, "http://127.0.0.1:1", duration_s=5)
    with pytest.raises(EnvironmentProblem) as caught:
        g.start()
    message = str(caught.value)
    assert "before the load started" in message and "no_such_module_anywhere" in message
    assert not g.running() and all(not proc.running() for _, proc in g.workers)  # nothing left behind
