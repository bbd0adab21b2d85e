"""The seam between the runner and whatever makes the load: a ``LoadProcess``.

The runner makes one per run through a ``LoadFactory`` (``chaos.runner.Run(load_process=...)``;
the real one is ``chaos.load.locust_process.LocustProcess``, a headless Locust subprocess; a test
passes a fake with this interface). The load writes its requests into ``history_dir`` itself
(``load-<pid>.jsonl``, ``chaos.load.recorder``); the runner only starts it, asks whether it still
runs, stops it, and reads how it ended.

    factory(workload, host, load, history_dir, log_path, run_time_s=None) -> LoadProcess

``run_time_s`` is how long the load runs unless stopped first (default: ``load.duration_s``); a game
day gives it longer and stops it itself at the shifted end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from chaos.experiment import Load


class LoadProcess(Protocol):
    log_path: Path  # where the load's own output goes (named in the runner's messages)

    def start(self) -> None:
        """Start the load (returns at once; it runs for ``run_time_s`` unless stopped)."""

    def running(self) -> bool:
        """Whether the load still runs (False before ``start`` and once it has ended)."""

    def stop(self) -> int | None:
        """Stop the load if it still runs and wait for it; its exit code (None if never started).
        Safe to call again."""

    @property
    def returncode(self) -> int | None:
        """How the load ended: None while it runs (or before it started), 0 when it ended as planned,
        ``chaos.load.recorder.RECORDS_UNWRITTEN_EXIT`` when a record could not be written, a
        negative signal number when it was killed (``-signal.SIGKILL``: its recorder could not say
        whether every record was written)."""

    def log_tail(self, lines: int = 20) -> str:
        """The last ``lines`` lines of the load's output, for an error message."""


class LoadFactory(Protocol):
    def __call__(self, workload: Path, host: str, load: Load, history_dir: Path, log_path: Path,
                 run_time_s: float | None = None) -> LoadProcess:
        """A load not started yet."""
