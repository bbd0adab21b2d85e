"""A Locust master and its local workers as one load process, with ``LocustProcess``'s interface.

The interface the runner uses (``LocustProcess`` and ``LocustGroup`` both have it):

* ``start()``: start the load. A group returns once the master has started the users, i.e. once
  every expected worker (local and remote) has connected: the runner's clock starts after it.
  ``EnvironmentProblem`` if the master or a local worker exits first, or the workers do not all
  come within ``connect_timeout_s``; everything started is stopped again before it raises.
* ``running()``: the load is still on (for a group: the master runs).
* ``stop(grace_s)``: stop it (SIGTERM, then SIGKILL after ``grace_s``); returns the exit code.
  A group stops the master first (it asks every worker for its final batch of records and waits
  for them, then writes the history's marks), then the workers.
* ``returncode`` (and ``proc.returncode``, ``proc`` being the master's Popen): the exit code, None
  while running; ``RECORDS_UNWRITTEN_EXIT`` when the history could not all be written.
* ``log_path`` and ``log_tail(lines)``: the (master's) log.
* ``lost_workers()`` (groups only): local workers that exited while the load ran, each once, with
  when (monotonic) and how. The master has already put a ``worker_lost`` mark in the history for
  each (it also sees remote workers go): the runner says it, and need not mark it again.

Every process is its own session (a Ctrl-C in the terminal reaches only the harness) and gets
SIGTERM if the harness dies (PR_SET_PDEATHSIG), as ``LocustProcess`` does.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from chaos.errors import EnvironmentProblem
from chaos.experiment import Load
from chaos.load.locust_process import LocustProcess
from chaos.load.recorder import (ENTRY_URL_ENV, READY_FILE_ENV, ROLE_ENV, ROLE_MASTER, ROLE_WORKER,
                                 WORKER_NAME_ENV)

LOCAL_CONNECT_TIMEOUT_S = 60.0  # local workers only: they import Locust and connect in seconds
REMOTE_MASTER_PORT = 5557  # Locust's default: a remote worker can be started before the run knows a port
STOP_GRACE_S = 15.0  # the master waits Locust's stop timeout (3 s) + 2 s for the final batches, then quits


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def worker_command(workload: Path, master_host: str, master_port: int) -> list[str]:
    """The command of one Locust worker of ``workload`` reporting to ``master_host:master_port``."""
    import sys

    return [sys.executable, "-m", "locust", "-f", str(workload), "--worker", "--master-host", master_host,
            "--master-port", str(master_port), "--loglevel", "WARNING"]


@dataclass(frozen=True)
class WorkerExit:
    name: str
    pid: int
    returncode: int | None
    at_mono: float  # when the harness saw it gone
    log_path: Path

    def describe(self) -> str:
        how = f"exit code {self.returncode}" if self.returncode is None or self.returncode >= 0 else \
            f"signal {-self.returncode}"
        return f"local worker {self.name} (pid {self.pid}) ended with {how} (log: {self.log_path})"


class LocustGroup:
    """``load.workers`` Locust processes: a headless master (``--expect-workers``) and ``local``
    workers on this machine; ``remote`` more are expected from other machines (``chaos-harness
    worker --master HOST:PORT``). ``bind_host``: where the master listens (127.0.0.1 unless workers
    come from elsewhere)."""

    def __init__(self, workload: Path, host: str, load: Load, history_dir: Path, log_path: Path,
                 run_time_s: float | None = None, local: int | None = None, remote: int = 0,
                 bind_host: str = "127.0.0.1", port: int | None = None,
                 connect_timeout_s: float | None = None, clock: Callable[[], float] = time.monotonic):
        local = load_workers(load)[0] if local is None else local
        if local + remote < 1:
            raise ValueError("a Locust master needs at least one worker")
        self.local, self.remote = local, remote
        self.bind_host = bind_host
        self.port = port or (REMOTE_MASTER_PORT if remote else free_port(bind_host))
        self.clock = clock
        self.connect_timeout_s = connect_timeout_s or (LOCAL_CONNECT_TIMEOUT_S if remote == 0 else 600.0)
        self.log_path = Path(log_path)
        self.ready_path = self.log_path.with_name(self.log_path.stem + ".ready")
        self.master = LocustProcess(workload, host, load, history_dir, log_path, run_time_s=run_time_s)
        self.master.cmd += ["--master", "--master-bind-host", bind_host, "--master-bind-port", str(self.port),
                            "--expect-workers", str(local + remote),
                            "--expect-workers-max-wait", f"{self.connect_timeout_s:g}"]
        self.master.env.update({ROLE_ENV: ROLE_MASTER, READY_FILE_ENV: str(self.ready_path)})
        self.workers: list[tuple[str, LocustProcess]] = []
        connect_host = "127.0.0.1" if bind_host in ("0.0.0.0", "::", "") else bind_host
        for i in range(1, local + 1):
            name = f"w{i}"
            proc = LocustProcess(workload, host, load, history_dir,
                                 self.log_path.with_name(f"{self.log_path.stem}-{name}{self.log_path.suffix}"))
            proc.cmd = worker_command(workload, connect_host, self.port)
            proc.env.pop("CHAOS_HISTORY_DIR", None)  # a worker writes no file: the master does
            proc.env.update({ROLE_ENV: ROLE_WORKER, WORKER_NAME_ENV: name})
            self.workers.append((name, proc))
        self._seen_gone: dict[str, WorkerExit] = {}
        self._reported: set[str] = set()
        self._stopping = False

    # the LocustProcess interface

    @property
    def proc(self):
        return self.master.proc

    @property
    def returncode(self) -> int | None:
        return self.master.proc.returncode if self.master.proc is not None else None

    def start(self) -> None:
        try:
            self.ready_path.unlink()
        except FileNotFoundError:
            pass
        self.master.start()
        for _, proc in self.workers:
            proc.start()
        deadline = self.clock() + self.connect_timeout_s + 5
        while not self._said("started"):
            problem = None
            if not self.master.running():
                problem = f"the Locust master exited with {self.master.proc.returncode} before the load started"
            elif self.clock() > deadline:
                problem = f"the Locust master did not start the load within {self.connect_timeout_s:g} s"
            else:
                gone = self._gone()
                if gone:
                    problem = "; ".join(g.describe() for g in gone) + " before the load started"
            if problem is not None:
                self.stop(grace_s=5)
                raise EnvironmentProblem(f"{problem} (expected {self.local} local and {self.remote} remote "
                                         f"workers on port {self.port}):\n{self.log_tail()}")
            time.sleep(0.05)

    def running(self) -> bool:
        self._gone()
        return self.master.running()

    def stop(self, grace_s: float = STOP_GRACE_S) -> int | None:
        """The master first (it collects the final batches), then whatever worker is left."""
        self._stopping = True
        code = self.master.stop(grace_s=grace_s)
        deadline = time.monotonic() + 5
        for _, proc in self.workers:
            while proc.running() and time.monotonic() < deadline:
                time.sleep(0.05)  # the master's quit reaches them: they leave by themselves
            proc.stop(grace_s=5)
        return code

    def log_tail(self, lines: int = 20) -> str:
        parts = [self.master.log_tail(lines)]
        for g in self._seen_gone.values():
            proc = dict(self.workers)[g.name]
            parts.append(f"--- {g.describe()}:\n{proc.log_tail(lines)}")
        return "\n".join(p for p in parts if p)

    # what a group adds

    def lost_workers(self) -> list[WorkerExit]:
        """Local workers seen gone while the load ran, each returned once."""
        self._gone()
        new = [g for name, g in self._seen_gone.items() if name not in self._reported]
        self._reported.update(g.name for g in new)
        return new

    def _said(self, word: str) -> bool:
        """Whether the master has written ``word`` into its ready file (see ``chaos.load.recorder``)."""
        try:
            return word in self.ready_path.read_text().split()
        except OSError:
            return False

    def _gone(self) -> list[WorkerExit]:
        """Local workers that exited while the load ran: not once the master stops the load (its
        workers then leave by design), nor after we began stopping it."""
        if self._stopping or self._said("stopping") or (self.master.proc is not None
                                                          and self.master.proc.poll() is not None):
            return list(self._seen_gone.values())
        for name, proc in self.workers:
            if name not in self._seen_gone and proc.proc is not None and proc.proc.poll() is not None:
                self._seen_gone[name] = WorkerExit(name, proc.proc.pid, proc.proc.returncode, self.clock(),
                                                   proc.log_path)
        return list(self._seen_gone.values())


def load_workers(load: Load) -> tuple[int, int]:
    """(local, remote) workers of a load: ``workers`` in all, ``remote_workers`` of them from elsewhere."""
    return load.workers - load.remote_workers, load.remote_workers


def load_process(workload: Path, host: str, load: Load, history_dir: Path, log_path: Path,
                 run_time_s: float | None = None):
    """The load process an experiment's ``load`` asks for: one Locust process (``workers: 1``, today's
    way) or a master and its workers."""
    local, remote = load_workers(load)
    if local + remote <= 1 and remote == 0:
        return LocustProcess(workload, host, load, history_dir, log_path, run_time_s=run_time_s)
    return LocustGroup(workload, host, load, history_dir, log_path, run_time_s=run_time_s,
                       local=local, remote=remote, bind_host="0.0.0.0" if remote else "127.0.0.1")


def master_addresses(bind_host: str) -> list[str]:
    """The addresses another machine may use to reach a master bound to ``bind_host``: that host, or,
    for every interface (``0.0.0.0``), this machine's name and the addresses it resolves to (its
    own resolver only: nothing is sent anywhere), loopback last."""
    if bind_host not in ("0.0.0.0", "::", ""):
        return [bind_host]
    name = socket.gethostname()
    try:
        found = [a[4][0] for a in socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)]
    except OSError:
        found = []
    ips = list(dict.fromkeys(a for a in found if not a.startswith("127.") and a != "::1"))
    return ips + [name] if name not in ips else ips


def waiting_lines(load, stack: str) -> list[str]:
    """What the runner says before it waits for remote workers (none expected: nothing): where the
    master listens and the exact command to run on each other machine."""
    remote = getattr(load, "remote", 0)
    if not remote:
        return []
    addresses = master_addresses(load.bind_host)
    host = addresses[0] if addresses else load.bind_host
    shown = f"[{host}]" if ":" in host else host
    where = ", ".join(f"{a}:{load.port}" for a in addresses) or f"{load.bind_host}:{load.port}"
    return [f"[load] Locust master listening on {load.bind_host}:{load.port} (reach it at {where}); waiting up "
            f"to {load.connect_timeout_s:g} s for {load.local} local and {remote} remote "
            f"worker{'' if remote == 1 else 's'}",
            f"[load] on each other machine (TCP port {load.port} of this one must be reachable from it), run:",
            f"[load]     chaos-harness worker --master {shown}:{load.port} --stack {stack}"]


def lost_lines(load) -> list[str]:
    """One line per local worker newly seen gone (each said once; the master has already marked it
    in the history); nothing for a load without workers."""
    lost = getattr(load, "lost_workers", None)
    if lost is None:
        return []
    return [f"[load] WORKER LOST: {w.describe()}; the run will be judged unknown" for w in lost()]


def parse_master(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` too) of a Locust master; InvalidInput saying what to write."""
    from chaos.errors import InvalidInput

    host, sep, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise InvalidInput(f"--master {text!r}: expected HOST:PORT, the address and port the harness's Locust "
                           "master listens on (its run prints them), e.g. --master 10.0.0.5:5557")
    return host, int(port)


def run_worker(workload: Path, master: str, name: str | None = None, entry_url: str | None = None) -> int:
    """Run one Locust worker of ``workload`` in the foreground for the master at ``master``
    (HOST:PORT) until the master ends the load; its records go to the master, none to a file here.
    ``entry_url``: the stack's entry point as this machine reaches it (default: the master's)."""
    import subprocess

    host, port = parse_master(master)
    env = dict(os.environ, PYTHONUNBUFFERED="1", **{ROLE_ENV: ROLE_WORKER})
    env.pop("CHAOS_HISTORY_DIR", None)
    if name:
        env[WORKER_NAME_ENV] = name
    if entry_url:
        env[ENTRY_URL_ENV] = entry_url
    return subprocess.call(worker_command(workload, host, port), env=env, stdin=subprocess.DEVNULL)
