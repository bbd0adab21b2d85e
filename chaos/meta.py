"""``meta.json`` of a run folder: which run, on which stack and services, when, from which file, in
which environment (``chaos.environment``), the operations the stack declares (so ``analyze`` checks
the history against them), and a game day's participants."""

from __future__ import annotations

import json
from pathlib import Path

from chaos.files import write_atomic
from chaos.reports import iso_utc
from chaos.run_folder import META


def write_meta(run_dir: Path, *, run_id: str, stack, started: float, finished: float, experiment_file: Path,
               environment: dict, participants: tuple[str, ...] | None = None) -> Path:
    """Write ``meta.json`` (atomically; EnvironmentProblem if the disk refuses); its path.
    ``started``/``finished``: wall-clock seconds."""
    meta = {"run_id": run_id, "stack": stack.name, "services": list(stack.services),
            "started_at": iso_utc(started), "finished_at": iso_utc(finished),
            "experiment_file": str(experiment_file), "environment": environment,
            "operations": stack.operations}
    if participants is not None:
        meta["participants"] = list(participants)
    path = Path(run_dir) / META
    write_atomic(path, json.dumps(meta, indent=2))
    return path
