"""Judge a saved run folder without Docker. The live run judges itself through this same function,
so ``chaos-harness analyze RUN_DIR`` reproduces the live verdict from the files alone.

A run folder holds: ``experiment.yaml`` (the file as run), ``meta.json`` (stack, times, services,
environment; a game day's participants), ``history/*.jsonl``, ``readback.json`` (what the system
returned when read back; absent if read-back could not run), ``invariants.json`` (what the stack says of its own invariants
after the run, e.g. money conserved) and, after judging, ``journal.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

from chaos import history as history_mod
from chaos.checks import judge
from chaos.errors import InvalidInput
from chaos.loader import load_experiment
from chaos.reports import build_journal, write_journal

META = "meta.json"
READBACK = "readback.json"
INVARIANTS = "invariants.json"
EXPERIMENT_COPY = "experiment.yaml"


def judge_run(run_dir: Path, write: bool = True) -> dict:
    run_dir = Path(run_dir)
    meta_path = run_dir / META
    if not meta_path.is_file():
        raise InvalidInput(f"{run_dir}: not a run folder (no {META})")
    meta = json.loads(meta_path.read_text())
    experiment = load_experiment(run_dir / EXPERIMENT_COPY).with_stack(meta["stack"])
    history = history_mod.load(run_dir)
    readback_path = run_dir / READBACK
    readback = json.loads(readback_path.read_text()) if readback_path.is_file() else None
    invariants_path = run_dir / INVARIANTS
    invariants = json.loads(invariants_path.read_text()) if invariants_path.is_file() else None
    judgement = judge(history, experiment, meta["services"], readback, invariants)
    journal = build_journal(experiment, judgement, stack=meta["stack"], started_at=meta["started_at"],
                            finished_at=meta["finished_at"], history=history, run_id=meta["run_id"],
                            environment=meta.get("environment", {}),
                            participants=meta.get("participants"))
    journal["experiment"]["file"] = meta.get("experiment_file", journal["experiment"]["file"])
    if write:
        write_journal(run_dir, journal)
    return journal
