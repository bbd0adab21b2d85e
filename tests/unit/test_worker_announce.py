"""What the runner says about a master and its workers (issue 16): before it waits for remote
workers, where the master listens and the exact command to run on the other machine; while the
load runs, each lost worker once. On the fakes of tests/unit/fake_run.py (no Locust, no Docker)."""

from __future__ import annotations

import io
import signal
import sys
from pathlib import Path

import pytest

from chaos.experiment import Load
from chaos.load.locust_group import LocustGroup, WorkerExit, lost_lines, waiting_lines

sys.path.insert(0, str(Path(__file__).parent))
import fake_run  # noqa: E402


@pytest.fixture(autouse=True)
def own_lock_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAOS_LOCK_DIR", str(tmp_path / "locks"))


def group(tmp_path, **kw) -> LocustGroup:  # made, never started
    return LocustGroup(tmp_path / "workload.py", "http://127.0.0.1:1", Load(workers=3, remote_workers=1),
                       tmp_path, tmp_path / "locust.log", **kw)


def test_remote_workers_are_told_where_the_master_listens_and_what_to_run(tmp_path):
    g = group(tmp_path, local=2, remote=1, bind_host="127.0.0.1", port=6123)
    lines = waiting_lines(g, "ground-truth")
    assert "127.0.0.1:6123" in lines[0] and "2 local and 1 remote worker" in lines[0]
    assert "port 6123" in lines[1]
    assert lines[-1].split(maxsplit=1)[1] == "chaos-harness worker --master 127.0.0.1:6123 --stack ground-truth"


def test_a_master_on_every_interface_names_this_machine(tmp_path, monkeypatch):
    import socket

    monkeypatch.setattr(socket, "gethostname", lambda: "harness-1")
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: [(0, 0, 0, "", ("10.0.0.5", 0)),
                                                                (0, 0, 0, "", ("127.0.1.1", 0))])
    g = group(tmp_path, local=2, remote=1, bind_host="0.0.0.0", port=5557)
    lines = waiting_lines(g, "dual-site")
    assert "10.0.0.5:5557, harness-1:5557" in lines[0]
    assert lines[-1].endswith("chaos-harness worker --master 10.0.0.5:5557 --stack dual-site")


def test_no_remote_worker_no_announcement(tmp_path):
    assert waiting_lines(group(tmp_path, local=3, remote=0), "ground-truth") == []
    assert waiting_lines(fake_run.FakeLocust(None, "", Load(), tmp_path, tmp_path / "l"), "x") == []
    assert lost_lines(fake_run.FakeLocust(None, "", Load(), tmp_path, tmp_path / "l")) == []


class FakeGroup(fake_run.FakeLocust):
    """FakeLocust with a group's extras: one remote worker expected, and local worker w2 gone after
    half a second of the fake clock (its loss returned once, as LocustGroup.lost_workers does)."""

    local, remote, bind_host, port, connect_timeout_s = 2, 1, "127.0.0.1", 6124, 600.0
    out: io.StringIO | None = None

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.said_before_start = None
        self._told = False

    def start(self) -> None:
        self.said_before_start = FakeGroup.out.getvalue()
        super().start()

    def lost_workers(self) -> list[WorkerExit]:
        if self._told or self._t0 is None or fake_run.CLOCK.monotonic() - self._t0 < 0.5:
            return []
        self._told = True
        return [WorkerExit("w2", 4242, -signal.SIGKILL, fake_run.CLOCK.monotonic(), Path("locust-w2.log"))]


def test_the_runner_says_the_worker_command_before_it_waits_and_each_lost_worker_once(tmp_path, monkeypatch):
    fake_run.install(monkeypatch.setattr, fake_run.Events())
    made = []
    out = io.StringIO()
    monkeypatch.setattr(FakeGroup, "out", out)

    def factory(*a, **kw):
        made.append(FakeGroup(*a, **kw))
        return made[0]

    run = fake_run.make_run(tmp_path / "runs", out=out, load_process=factory)
    run.execute()
    (load,) = made
    assert "chaos-harness worker --master 127.0.0.1:6124 --stack ground-truth" in load.said_before_start
    lost = [line for line in out.getvalue().splitlines() if "WORKER LOST" in line]
    assert len(lost) == 1 and "w2 (pid 4242)" in lost[0] and "signal 9" in lost[0]
