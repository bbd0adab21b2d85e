"""The run folder's vocabulary: every file name in it, every record kind, step and mark of its history.

This module names things and does nothing else (it imports only the standard library), so every
layer can use it: the recorder and the runner write these names, ``chaos.history`` and ``analyze``
read them back, the checks and the reports speak them. A name spelled anywhere else as a literal is
a second copy that can drift; ``tests/unit/test_vocabulary.py`` looks for them.

A run folder, ``runs/<run-id>/``::

    experiment.yaml   the experiment file as it was loaded (judged by this copy, not a later edit)
    meta.json         stack, times, services, environment, a game day's participants
    history/          one append-only JSON-lines file per writer process:
        load-<pid>.jsonl  the requests of one Locust process
        load-<worker>.jsonl  with a Locust master and workers: one worker's requests, written by the master
        master.jsonl      the master's marks (worker_clock, worker_lost, records_lost, clock_unknown)
        faults.jsonl      the runner's fault steps and marks
    locust.log        what Locust printed (its warnings, its summary)
    .space-reserve    space set aside while the run goes (``chaos.history.DiskReserve``), removed after
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
MASTER_HISTORY = "master.jsonl"  # a Locust master's marks about its workers
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

# --- the kind of an op: a request that carries a ``write_id`` is a write, every other one a read ----
READ = "read"
WRITE = "write"
OP_KINDS = (READ, WRITE)

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
# A worker's clock against the master's: offset, and the bound within which its records are placed
# (keys ``worker``, ``offset``, ``bound`` in seconds): no time from its records is finer than ``bound``.
MARK_WORKER_CLOCK = "worker_clock"
# Marks that say the run did not do what its experiment says: each makes the run ``unknown``
# (``chaos.checks.builtin.ran_as_written``), with what it means here.
MARK_LOAD_ENDED_EARLY = "load_ended_early"
MARK_RECORDS_LOST = "records_lost"
MARK_HISTORY_WRITE_FAILED = "history_write_failed"
MARK_INTERRUPTED = "interrupted"  # SIGINT/SIGTERM cut the run short (the load, the recovery wait, the read-back)
MARK_WORKER_LOST = "worker_lost"  # a Locust worker died, quit or stopped answering while the load ran
MARK_CLOCK_UNKNOWN = "clock_unknown"  # a worker's records could not be placed on the harness's clock
MARK_ENGINE_LOST = "engine_lost"  # a site's own Docker engine stopped answering, and no fault of the run did it
INTEGRITY_MARKS = {
    MARK_LOAD_ENDED_EARLY: "the load ended before its time",
    MARK_RECORDS_LOST: "the load's requests did not all reach the history",
    MARK_HISTORY_WRITE_FAILED: "the history could not be written as the run went",
    MARK_INTERRUPTED: "the run was interrupted before its end",
    MARK_WORKER_LOST: "a load worker was lost while the load ran",
    MARK_CLOCK_UNKNOWN: "a load worker's requests could not be placed on the harness's clock",
    MARK_ENGINE_LOST: "a site's Docker engine stopped answering during the run, and no fault of the experiment "
                      "stopped it",
}
