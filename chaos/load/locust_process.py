"""Start and stop Locust as a headless subprocess (Locust monkey-patches the standard library with
gevent, so it never runs inside the harness's own process)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from chaos.experiment import Load
from chaos.files import FILE_MODE


def _die_with_parent() -> None:
    """In the child, before exec: ask Linux to SIGTERM Locust if the harness dies, even by SIGKILL,
    so no orphaned load keeps hitting a stack that ``chaos-harness recover`` is healing."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class LocustProcess:
    """The real ``chaos.load.process.LoadProcess``: one headless Locust process.

    ``run_time_s``: how long Locust runs unless stopped first (default: the load's duration). A
    game day, whose steps may be held, gives it longer and stops it itself at the shifted end."""

    def __init__(self, workload: Path, host: str, load: Load, history_dir: Path, log_path: Path,
                 run_time_s: float | None = None):
        run_time_s = load.duration_s if run_time_s is None else run_time_s
        self.cmd = [sys.executable, "-m", "locust", "-f", str(workload), "--headless",
                    "--host", host, "-u", str(load.users), "-r", f"{load.spawn_rate:g}",
                    "-t", f"{int(round(run_time_s))}s", "--stop-timeout", "3",
                    "--only-summary", "--loglevel", "WARNING", "--exit-code-on-error", "0"]
        self.env = dict(os.environ, CHAOS_HISTORY_DIR=str(history_dir), PYTHONUNBUFFERED="1")
        if load.mix:
            self.env["CHAOS_LOAD_MIX"] = json.dumps(dict(load.mix))
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        fd = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, FILE_MODE)
        self._log = os.fdopen(fd, "w")
        # Own process group: a Ctrl-C in the terminal reaches the harness, which stops Locust itself.
        self.proc = subprocess.Popen(self.cmd, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True,
                                     preexec_fn=_die_with_parent)

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode if self.proc is not None else None

    def stop(self, grace_s: float = 10.0) -> int | None:
        """Stop Locust (SIGTERM, then SIGKILL after ``grace_s``); return its exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=grace_s)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=10)
        self._log.close()
        return self.proc.returncode

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(Path(self.log_path).read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
