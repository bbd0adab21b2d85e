"""The run folder's vocabulary: every file name in it, every record kind, step and mark of its history.

This module names things and does nothing else (it imports only the standard library), so every
layer can use it: the recorder and the runner write these names, ``chaos.history`` and ``analyze``
read them back, the checks and the reports speak them. A name spelled anywhere else as a literal is
a second copy that can drift; ``tests/unit/test_architecture.py`` looks for them.

A run folder, ``runs/<run-id>/``::

    experiment.yaml   the experiment file as it was loaded (judged by this copy, not a later edit)
    meta.json         stack, times, services, environment, a game day's participants
    history/          one append-only JSON-lines file per writer process:
        load-<pid>.jsonl  the requests of one Locust process
        faults.jsonl      the runner's fault steps and marks
    readback.json     what the system held after recovery (absent if the read-back could not run)
    invariants.json   the figures the stack reported of its own invariants (e.g. balances)
    journal.json      the judgement, written last
    report.html, junit.xml   made from the journal, never judging themselves
"""

from __future__ import annotations

from pathlib import Path

# --- files of a run folder -------------------------------------------------------------------------
EXPERIMENT = "experiment.yaml"
META = "meta.json"
HISTORY_DIR = "history"
FAULTS_HISTORY = "faults.jsonl"
LOAD_HISTORY_PREFIX = "load-"
HISTORY_SUFFIX = ".jsonl"
LOAD_HISTORY_GLOB = f"{LOAD_HISTORY_PREFIX}*{HISTORY_SUFFIX}"
HISTORY_GLOB = f"*{HISTORY_SUFFIX}"
LOCUST_LOG = "locust.log"
SPACE_RESERVE = ".space-reserve"
READBACK = "readback.json"
INVARIANTS = "invariants.json"
JOURNAL = "journal.json"
REPORT = "report.html"
JUNIT = "junit.xml"


def load_history_name(pid: int | str) -> str:
    """``load-<pid>.jsonl``: the history file of one load process."""
    return f"{LOAD_HISTORY_PREFIX}{pid}{HISTORY_SUFFIX}"


def history_dir(run_dir: str | Path) -> Path:
    return Path(run_dir) / HISTORY_DIR


# --- record kinds of the history -------------------------------------------------------------------
KIND_OP = "op"  # one request of the load
KIND_FAULT = "fault"  # one step of a fault
KIND_MARK = "mark"  # a phase boundary the runner writes
KIND_NOTE = "note"  # a line a game day's facilitator typed
KINDS = (KIND_OP, KIND_FAULT, KIND_MARK, KIND_NOTE)

# --- outcomes of an op -----------------------------------------------------------------------------
OK = "ok"
FAIL = "fail"
UNKNOWN = "unknown"  # indeterminate (timeout, lost answer): a write never counted as lost
OUTCOMES = (OK, FAIL, UNKNOWN)

# --- the steps of a fault, in the order the runner writes them -------------------------------------
INVOKED = "invoked"  # written before the act: a harness killed mid-injection leaves a trace to heal from
INJECT_DONE = "done"
INJECT_FAILED = "inject_failed"
HEAL_INVOKED = "heal_invoked"
HEALED = "healed"
HEAL_FAILED = "heal_failed"
STEPS = (INVOKED, INJECT_DONE, INJECT_FAILED, HEAL_INVOKED, HEALED, HEAL_FAILED)

# --- marks the runner writes -----------------------------------------------------------------------
MARK_LOAD_STARTED = "load_started"
MARK_LOAD_STOPPED = "load_stopped"
MARK_ABORTED = "aborted"  # an abort_if condition held, or a game day's facilitator aborted
# Marks that say the run did not do what its experiment says: each makes the run ``unknown``
# (``chaos.checks.builtin.ran_as_written``), with what it means here.
MARK_LOAD_ENDED_EARLY = "load_ended_early"
MARK_RECORDS_LOST = "records_lost"
MARK_HISTORY_WRITE_FAILED = "history_write_failed"
MARK_INTERRUPTED = "interrupted"  # SIGINT/SIGTERM cut the run short (the load, the recovery wait, the read-back)
INTEGRITY_MARKS = {
    MARK_LOAD_ENDED_EARLY: "the load ended before its time",
    MARK_RECORDS_LOST: "the load's requests did not all reach the history",
    MARK_HISTORY_WRITE_FAILED: "the history could not be written as the run went",
    MARK_INTERRUPTED: "the run was interrupted before its end",
}
