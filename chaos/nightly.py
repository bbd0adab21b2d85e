"""The nightly suite: every experiment carrying a tag (default ``nightly``), each against its own
stack (an experiment whose ``expect`` is a mapping of stack to verdict: once against each stack it
names, with that stack's expectation), one at a time, and one folder to archive::

    OUT/runs/<run-id>/   each run folder, with its report.html and junit.xml
    OUT/junit.xml        every run, one testsuite each (see chaos.reports.junit)
    OUT/index.html       experiment, stack, verdict, expected, match, a link to each report

Every tagged experiment is loaded and validated (on each of its stacks) before anything runs. Runs
are grouped by stack (sorted by stack, then file) so each stack comes up once; the runner brings
each run's stack up, and takes down first any other stack up on the same host ports (volumes too;
``RunOptions.make_room``, ``chaos.bring_up``). The last stack is left up, as after ``chaos-harness run``.

A run the harness could not carry out (no engine, a stack that does not come up) becomes a journal
with the verdict ``unknown`` and the error as its reason, and the suite goes on. An interruption
(Ctrl-C, SIGTERM) heals the current run (the runner does), writes index and JUnit of what finished,
and stops the suite.

Exit code: 0 when every verdict is the one its experiment expects, 1 when one differs, 3 when a run
could not be carried out.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

from chaos.checks import CheckResult, Verdict, exit_code_for
from chaos.checks.judge import Judgement
from chaos.errors import EXIT_ENVIRONMENT, EXIT_PASS, InvalidInput
from chaos.experiment import Experiment
from chaos.history import History
from chaos.loader import load_experiment
from chaos.reports import build_journal, iso_utc, write_junit
from chaos.reports.index import write_index
from chaos.run_folder import JUNIT, REPORT
from chaos.runner import RunOptions, prepare, run_experiment

RUNS = "runs"


@dataclass(frozen=True)
class Planned:
    """One run of the suite: the experiment's file, the experiment as it runs on ``stack`` (its
    ``expect`` the verdict expected there), and that stack."""

    path: Path
    experiment: Experiment
    stack: str


@dataclass(frozen=True)
class NightlyResult:
    out: Path
    journals: tuple[dict, ...]
    index: Path
    junit: Path
    errors: int  # runs the harness could not carry out

    @property
    def exit_code(self) -> int:
        if self.errors:
            return EXIT_ENVIRONMENT
        return max((exit_code_for(j["verdict"], j["expected"]) for j in self.journals), default=EXIT_PASS)


def default_out(now: float | None = None) -> Path:
    """``runs/nightly-<UTC time>``."""
    stamp = datetime.fromtimestamp(time.time() if now is None else now, timezone.utc)
    return Path(RUNS) / f"nightly-{stamp.strftime('%Y%m%dT%H%M%SZ')}"


def plan_runs(path: Path, experiment: Experiment) -> list[Planned]:
    """The runs of one experiment file, each validated against its stack: one on its own stack, or,
    when its ``expect`` is a mapping, one per stack the mapping names (in the mapping's order).

    An unknown stack or a target a stack lacks is InvalidInput (exit 2)."""
    if not experiment.expect_by_stack:
        experiment, stack = prepare(path, None)
        return [Planned(path, experiment, stack.name)]
    runs = []
    for name in experiment.expect_by_stack:
        on_stack, stack = prepare(path, name)
        runs.append(Planned(path, on_stack, stack.name))
    return runs


def select_experiments(experiments_dir: Path, tag: str) -> list[Planned]:
    """The runs of every experiment of ``experiments_dir`` tagged ``tag`` (``plan_runs``), validated,
    ordered by stack then file.

    An invalid file stops the suite before anything runs (InvalidInput, exit 2)."""
    planned = []
    for path in sorted(Path(experiments_dir).glob("*.yaml")):
        experiment = load_experiment(path)
        if tag in experiment.tags:
            planned += plan_runs(path, experiment)
    if not planned:
        raise InvalidInput(f"no experiment in {experiments_dir} is tagged '{tag}'")
    return sorted(planned, key=lambda p: (p.stack, p.path.name))


def failed_run_journal(planned: Planned, error: str, started: float) -> dict:
    """The journal of a run the harness could not carry out: verdict unknown, the error as reason."""
    check = CheckResult("run_completed", Verdict.UNKNOWN, detail=error,
                        reason=f"the run could not be carried out: {error}")
    judgement = Judgement(verdict=Verdict.UNKNOWN, services={}, checks=(check,), reasons=(check.reason,))
    return build_journal(planned.experiment, judgement, stack=planned.stack, started_at=iso_utc(started),
                         finished_at=iso_utc(time.time()), history=History((), (), ()), run_id="",
                         environment={})


def _report_link(out: Path, journal: dict) -> str | None:
    report = out / RUNS / journal["run_id"] / REPORT
    return os.path.relpath(report, out) if journal["run_id"] and report.is_file() else None


def write_suite(out: Path, journals: Sequence[dict], title: str) -> tuple[Path, Path]:
    """``OUT/junit.xml`` and ``OUT/index.html`` of ``journals``; return their paths."""
    junit = write_junit(out / JUNIT, journals)
    index = write_index(out, [(j, _report_link(out, j)) for j in journals], title, junit_href=JUNIT)
    return index, junit


def run_nightly(out: Path, tag: str = "nightly", experiments_dir: Path = Path("experiments"),
                stream=None, color: bool = False) -> NightlyResult:
    """Run the suite (see the module's docstring) and write its folder ``out``; progress goes to
    ``stream`` (default: standard output)."""
    out, stream = Path(out), stream or sys.stdout
    planned = select_experiments(experiments_dir, tag)
    opts = RunOptions(runs_dir=out / RUNS, bring_up=True, color=color, out=stream, make_room=True)
    journals: list[dict] = []
    errors = 0
    title = f"chaos-harness {tag} {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}"
    try:
        for i, p in enumerate(planned, 1):
            print(f"\n== [{tag} {i}/{len(planned)}] {p.experiment.name} on {p.stack} ({p.path})",
                  file=stream, flush=True)
            started = time.time()
            try:
                # The runner takes down another stack up on the same ports (chaos.bring_up, MAKE_ROOM).
                journal, _ = run_experiment(p.path, replace(opts, stack=p.stack))
            except Exception as e:  # noqa: BLE001 - one run that cannot be carried out does not stop the suite
                # (Ctrl-C, chaos.errors.Interrupted, is a BaseException: it ends the suite)
                print(f"[{tag}] {p.experiment.name} on {p.stack} could not run: {e}", file=stream, flush=True)
                journal = failed_run_journal(p, f"{type(e).__name__}: {e}", started)
                errors += 1
            journals.append(journal)
    finally:
        index, junit = write_suite(out, journals, title)
    return NightlyResult(out, tuple(journals), index, junit, errors)
