"""The cost of recording, and how the load scales with local Locust workers.

A static endpoint (a local HAProxy answering ``http-request return`` on 127.0.0.1, no application
behind it; its config written here) takes the load of a Locust master and N local workers
(``chaos.load.locust_group.LocustGroup``, as a run with ``load.workers: N`` starts them):

* recorded: a worker's users call the harness's ``request()`` (every request a record, batched to
  the master, written into the history); the figure is records in the history per second;
* bare: a worker's users call Locust's client directly (nothing recorded); the figure is Locust's
  own request count per second.

Recorded and bare run in the same run, side by side (two workers: w1 records, w2 does not), so the
shared machine's noise falls on both alike, ``--rounds`` times; the ratio is per round, and its
median is reported, with each worker's CPU per 1,000 requests. Then recorded with 1, 2 and 4
workers (``--users-per-worker`` users each). CPU seconds of the master,
the workers and HAProxy come from /proc (utime + stime), from the load's start (every worker in)
until each process ends.

    .venv/bin/python bench/workers.py [--seconds 15] [--users-per-worker 16] [--rounds 3]

HAProxy: the local ``haproxy`` if on PATH, else a container of the project's platform image
(``chaos-harness/platform:dev``, published on 127.0.0.1 only, removed at the end by its id).
Touches nothing but 127.0.0.1 and a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chaos.experiment import Load  # noqa: E402
from chaos.load.locust_group import LocustGroup, free_port  # noqa: E402
from chaos.run_folder import LOAD_HISTORY_GLOB, history_dir  # noqa: E402

HAPROXY_CFG = """\
global
    nbthread 1
defaults
    mode http
    timeout client 10s
    timeout server 10s
    timeout connect 1s
frontend static
    bind {bind}:{port}
    http-request return status 200 content-type text/plain string ok
"""

COMMON = """
from locust import FastHttpUser, task

from chaos.load.recorder import request  # also in the bare one: the master's and workers' plumbing
"""
RECORDED = COMMON + """

class Person(FastHttpUser):
    @task
    def get(self):
        request(self.client, "GET", "/", service="static", op="get")
"""
# The same run for both: worker w1's users record, w2's make the same request bare (Locust only).
SIDE_BY_SIDE = COMMON + """
import os

RECORD = os.environ.get("CHAOS_WORKER_NAME") == "w1"


class Person(FastHttpUser):
    @task
    def get(self):
        if RECORD:
            request(self.client, "GET", "/", service="static", op="get")
        else:
            self.client.get("/", name="bare:get")
"""

TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


class CpuWatch:
    """The last CPU time seen of each process (a process's CPU is lost from /proc once it is reaped)."""

    def __init__(self):
        self.pids: dict[str, int] = {}
        self.last: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def watch(self, name: str, pid: int) -> None:
        self.pids[name] = pid

    def start(self):
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            for name, pid in list(self.pids.items()):
                value = cpu_s(pid)
                if value is not None:
                    self.last[name] = value
            time.sleep(0.1)

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        return dict(self.last)


class HAProxy:
    """The static endpoint: a local haproxy, or one in a container of the platform image."""

    IMAGE = "chaos-harness/platform:dev"

    def __init__(self, folder: Path, port: int):
        self.folder, self.port = folder, port
        self.proc: subprocess.Popen | None = None
        self.container: str | None = None
        self.pid = 0
        self.how = ""

    def start(self) -> str | None:
        cfg = self.folder / "haproxy.cfg"
        if shutil.which("haproxy"):
            cfg.write_text(HAPROXY_CFG.format(bind="127.0.0.1", port=self.port))
            self.proc = subprocess.Popen(["haproxy", "-db", "-f", str(cfg)], stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
            self.pid, self.how = self.proc.pid, "local binary"
        else:
            cfg.write_text(HAPROXY_CFG.format(bind="0.0.0.0", port=self.port))  # inside its container
            os.chmod(cfg, 0o644)
            p = subprocess.run(["docker", "run", "-d", "--rm", "--label", "chaos.bench=workers",
                                "-p", f"127.0.0.1:{self.port}:{self.port}", "-v", f"{self.folder}:/bench:ro",
                                "--entrypoint", "haproxy", self.IMAGE, "-db", "-f", "/bench/haproxy.cfg"],
                               capture_output=True, text=True, timeout=60)
            if p.returncode != 0:
                return f"no haproxy on PATH, and its container did not start: {p.stderr.strip()}"
            self.container = p.stdout.strip()
            self.pid = int(subprocess.run(["docker", "inspect", "-f", "{{.State.Pid}}", self.container],
                                          capture_output=True, text=True, timeout=30).stdout.strip() or 0)
            self.how = f"container {self.container[:12]} of {self.IMAGE}"
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return None
            except OSError:
                time.sleep(0.1)
        return "haproxy did not answer on 127.0.0.1:%d" % self.port

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        if self.container:
            subprocess.run(["docker", "rm", "-f", self.container], capture_output=True, timeout=60)


def one_run(folder: Path, locustfile: str, url: str, workers: int, users_per_worker: int, seconds: int,
            haproxy_pid: int) -> dict:
    run = Path(tempfile.mkdtemp(dir=folder))
    history_dir(run).mkdir()
    (run / "workload.py").write_text(locustfile)
    users = users_per_worker * workers
    group = LocustGroup(run / "workload.py", url, Load(users=users, spawn_rate=1000, duration_s=seconds),
                        history_dir(run), run / "locust.log", local=workers)
    watch = CpuWatch()
    haproxy_before = cpu_s(haproxy_pid)
    group.start()
    pids = {"master": group.proc.pid, **{name: proc.proc.pid for name, proc in group.workers}}
    at_start = {name: cpu_s(pid) or 0.0 for name, pid in pids.items()}  # Locust's start-up is not the load's
    for name, pid in pids.items():
        watch.watch(name, pid)
    watch.start()
    while group.running():
        time.sleep(0.1)
    code = group.stop()
    cpu = {name: value - at_start.get(name, 0.0) for name, value in watch.stop().items()}
    haproxy_cpu = cpu_s(haproxy_pid) - haproxy_before
    records = sum(sum(1 for _ in open(p)) for p in history_dir(run).glob(LOAD_HISTORY_GLOB))
    log = (run / "locust.log").read_text()
    found = re.search(r"Aggregated\s+(\d+)\s+(\d+)", log)
    counted, failed = (int(found.group(1)), int(found.group(2))) if found else (0, 0)
    by_name: dict[str, int] = {}
    for m in re.finditer(r"^GET\s+(\S+)\s+(\d+)", log, re.M):  # the first table (counts), not percentiles
        by_name.setdefault(m.group(1), int(m.group(2)))
    integrity = [json.loads(line)["name"] for line in open(history_dir(run) / "master.jsonl")
                 if json.loads(line)["name"] not in ("worker_clock",)] if (history_dir(run) / "master.jsonl").exists() else []
    shutil.rmtree(run, ignore_errors=True)
    return {"workers": workers, "users": users, "seconds": seconds, "exit": code, "records": records,
            "locust_count": counted, "locust_failed": failed, "marks": integrity,
            "master_cpu_s": cpu.get("master", 0.0),
            "workers_cpu_s": sum(v for k, v in cpu.items() if k != "master"), "cpu": cpu, "by_name": by_name,
            "haproxy_cpu_s": haproxy_cpu}


def worker_ms(run: dict, count: str) -> float:
    """The workers' CPU milliseconds per 1,000 requests of a run (``count``: which count)."""
    return run["workers_cpu_s"] / run[count] * 1e6 if run[count] else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=15, help="load per run (default 15)")
    parser.add_argument("--users-per-worker", type=int, default=50, help="users per worker (default 50)")
    parser.add_argument("--rounds", type=int, default=5, help="side-by-side recorded/bare runs (default 5)")
    parser.add_argument("--scaling", default="1,2,4", help="worker counts for the scaling runs (default 1,2,4)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="chaos-bench-workers-"))
    os.chmod(folder, 0o755)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    haproxy = HAProxy(folder, port)
    try:
        problem = haproxy.start()
        if problem:
            print(f"bench/workers.py: {problem}", file=sys.stderr)
            return 3
        print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.node()}, "
              f"{os.cpu_count()} CPUs, Python {platform.python_version()}; HAProxy ({haproxy.how}) on {url}; "
              f"{args.seconds} s a run, {args.users_per_worker} users a worker", flush=True)
        ratios, rec_ms, bare_ms = [], [], []
        for i in range(args.rounds):
            r = one_run(folder, SIDE_BY_SIDE, url, 2, args.users_per_worker, args.seconds, haproxy.pid)
            rec, bare = r["by_name"].get("static:get", 0), r["by_name"].get("bare:get", 0)
            ratios.append(r["records"] / bare if bare else float("nan"))
            rec_ms.append(r["cpu"].get("w1", 0) / r["records"] * 1e6 if r["records"] else float("nan"))
            bare_ms.append(r["cpu"].get("w2", 0) / bare * 1e6 if bare else float("nan"))
            print(f"round {i + 1}: recorded {r['records'] / r['seconds']:.0f} records/s (Locust counted {rec}, "
                  f"history {r['records']}, marks {r['marks']}; worker CPU {rec_ms[-1]:.0f} ms per 1,000), "
                  f"bare {bare / r['seconds']:.0f} req/s (worker CPU {bare_ms[-1]:.0f} ms per 1,000): "
                  f"ratio {ratios[-1]:.3f}", flush=True)
        print(f"recorded/bare, side by side: median ratio {statistics.median(ratios):.3f} of {args.rounds} rounds "
              f"(min {min(ratios):.3f}, max {max(ratios):.3f}); worker CPU per 1,000 requests: recorded "
              f"{statistics.median(rec_ms):.0f} ms, bare {statistics.median(bare_ms):.0f} ms (medians); "
              f"bare/recorded CPU per request, median of the rounds: "
              f"{statistics.median(b / r for r, b in zip(rec_ms, bare_ms)):.3f}", flush=True)
        base = None
        for n in [int(x) for x in args.scaling.split(",")]:
            r = one_run(folder, RECORDED, url, n, args.users_per_worker, args.seconds, haproxy.pid)
            rate = r["records"] / r["seconds"]
            base = base or rate
            per_k = r["master_cpu_s"] / r["records"] * 1000 if r["records"] else float("nan")
            print(f"{n} worker(s): {rate:.0f} records/s ({rate / base:.2f}x one), failed {r['locust_failed']}, "
                  f"marks {r['marks']}; CPU s: master {r['master_cpu_s']:.1f} ({per_k * 1000:.0f} ms per 1,000 "
                  f"records), workers {r['workers_cpu_s']:.1f}, haproxy {r['haproxy_cpu_s']:.1f} "
                  f"of {r['seconds'] * (os.cpu_count() or 1)} available", flush=True)
        return 0
    finally:
        haproxy.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
