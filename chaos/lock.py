"""One run per stack at a time.

A run (and ``recover``, ``up``, ``down``) holds the stack's lock for as long as it acts on the stack:
a second one is refused (exit 3) with the holder's pid, verb and start time, instead of injecting
faults into another run's measurement or healing them in the middle of it.

The lock is an advisory ``flock(2)`` on ``<lock dir>/<compose project>.lock``: the kernel releases
it when the holder's process ends, however it ends (SIGKILL included), so a killed harness never
leaves a lock that blocks the next run. The file keeps the last holder's description, which is
only read while the lock is held. Its descriptor is not inherited by children (Locust, Compose), so
a child that outlives the harness does not hold it either.

The lock directory is ``$CHAOS_LOCK_DIR``, else ``chaos-harness-locks`` in the system's temporary
folder: one per machine, whichever checkout or runs folder a run uses.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import socket
import tempfile
import time
from pathlib import Path

from chaos.errors import EnvironmentProblem


def lock_dir() -> Path:
    env = os.environ.get("CHAOS_LOCK_DIR")
    return Path(env) if env else Path(tempfile.gettempdir()) / "chaos-harness-locks"


def lock_path(project: str) -> Path:
    return lock_dir() / (re.sub(r"[^A-Za-z0-9_.-]", "_", project)[:100] + ".lock")


class StackLock:
    """``with StackLock(stack.project, "run 2026...-demo"):`` holds the stack or raises
    EnvironmentProblem naming the holder. Re-entrant within one ``StackLock`` object only."""

    def __init__(self, project: str, what: str):
        self.project = project
        self.what = what
        self.path = lock_path(project)
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as e:  # another user's lock folder, a read-only or full disk: said, not a traceback
            raise EnvironmentProblem(f"cannot open the stack lock {self.path}: {e.strerror or e}; set "
                                     "CHAOS_LOCK_DIR to a folder this user can write") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _describe(fd)
            os.close(fd)
            raise EnvironmentProblem(
                f"stack project {self.project} is in use by {holder}; wait for it to end (or stop it: "
                f"Ctrl-C heals its faults), then try again") from None
        except OSError as e:
            os.close(fd)
            raise EnvironmentProblem(f"cannot lock {self.path}: {e.strerror or e}") from None
        self._fd = fd  # held from here: released by release(), whatever happens below
        try:  # who holds it, for the next one refused; best effort (a full disk must not leak the lock)
            os.ftruncate(fd, 0)
            os.write(fd, json.dumps({"pid": os.getpid(), "what": self.what, "host": socket.gethostname(),
                                     "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}).encode())
        except OSError:
            pass

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def __enter__(self) -> "StackLock":
        self.acquire()
        return self

    def __exit__(self, *_exc) -> None:
        self.release()


def _describe(fd: int) -> str:
    """The holder as it wrote itself into the lock file, e.g. ``run X (pid 12, since ...)``."""
    try:
        raw = os.pread(fd, 4096, 0)
        h = json.loads(raw.decode("utf-8", "replace"))
        return f"{h['what']} (pid {h['pid']} on {h['host']}, since {h['since']})"
    except (OSError, ValueError, KeyError, TypeError):
        return "another chaos-harness process (it did not say which)"
