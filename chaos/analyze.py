"""Judge a saved run folder without Docker. The live run judges itself through this same function,
so ``chaos-harness analyze RUN_DIR`` reproduces the live verdict from the files alone.

The folder is read and checked by ``chaos.saved_run`` (every file's shape; a damaged folder is
invalid input, exit 2); the experiment is loaded from its copy in the folder, the history judged
against it (``chaos.checks.judge``) and the journal built (``chaos.reports.journal``).
"""

from __future__ import annotations

import os
from pathlib import Path

from chaos.checks.judge import judge
from chaos.files import require_regular
from chaos.loader import load_experiment
from chaos.reports import build_journal, write_journal
from chaos.run_folder import EXPERIMENT, INVARIANTS, META, READBACK  # noqa: F401  (chaos.runner imports the last three from here)
from chaos.saved_run import RunFolder, read_run_folder  # noqa: F401  (re-exported: analyze reads, then judges)

EXPERIMENT_COPY = EXPERIMENT  # chaos.runner imports it from here until its rewrite: use run_folder.EXPERIMENT


def judge_run(run_dir: Path, write: bool = True) -> dict:
    """The journal of the run folder ``run_dir``, judged from its files alone; written to its
    ``journal.json`` when ``write``."""
    folder = read_run_folder(run_dir)
    meta = folder.meta
    experiment_path = folder.path / EXPERIMENT
    if os.path.lexists(experiment_path):  # missing: the loader says so
        require_regular(experiment_path)
    experiment = load_experiment(experiment_path).with_stack(meta["stack"])
    judgement = judge(folder.history, experiment, meta["services"], folder.readback, folder.invariants,
                      operations=meta.get("operations"))
    journal = build_journal(experiment, judgement, stack=meta["stack"], started_at=meta["started_at"],
                            finished_at=meta["finished_at"], history=folder.history, run_id=meta["run_id"],
                            environment=meta.get("environment", {}),
                            participants=meta.get("participants"))
    journal["experiment"]["file"] = meta.get("experiment_file", journal["experiment"]["file"])
    if write:
        write_journal(folder.path, journal)
    return journal
