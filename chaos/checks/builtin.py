"""Checks present in every judgement, whatever the experiment declares."""

from __future__ import annotations

from typing import Sequence

from chaos.checks.verdict import CheckResult, Verdict
from chaos.experiment import FaultSpec
from chaos.history import HEAL_FAILED, HEALED, INJECT_DONE, INJECT_FAILED, INTEGRITY_MARKS, MARK_ABORTED, History

RAN_AS_WRITTEN = "ran_as_written"


def history_not_empty(history: History) -> CheckResult:
    """Fails if the load recorded no request at all: nothing else could be judged."""
    n = len(history.ops)
    if n:
        return CheckResult("history_not_empty", Verdict.PASS, figure=n, threshold="requests > 0",
                           detail=f"{n} requests recorded")
    return CheckResult("history_not_empty", Verdict.FAIL, figure=0, threshold="requests > 0",
                       detail="no requests recorded",
                       reason="the history holds no requests: the load never ran or recorded nothing")


def ran_as_written(history: History, faults: Sequence[FaultSpec] = ()) -> CheckResult:
    """``unknown`` if the run did not do what its experiment says, else ``pass``.

    A measuring instrument must not judge a run whose fault never landed: a judgement of such a run
    would be a PASS for what did not happen. So every problem below makes the run ``unknown``
    (``judge`` lets this check decide the verdict over any other, even a fail, so that a run that
    did not happen is never an expected fail either):

    * a fault declared in the experiment (``faults``, ids ``f0``, ``f1``... in order) that was never
      injected, an abort before its time included: an abort that came before the decisive fault
      must not read as the fail a single-site stack is expected to give (an aborted run whose
      faults all landed fails ``not_aborted`` instead);
    * an injection that failed (``inject_failed``), or that never said it was done;
    * a heal that failed with no later successful heal, or a fault never healed;
    * a load that recorded no request at all (it never ran, or a game day was aborted before it):
      nothing was measured, so even the fail a single-site stack is expected to give is not shown;
    * the runner's marks that say the load or the history did not do its job: ``load_ended_early``,
      ``records_lost``, ``history_write_failed``, ``interrupted``;
    * a history file whose last line is torn (``History.torn``: a writer stopped in the middle of a
      line): a record that did not reach the history.
    """
    problems: list[str] = []
    steps = history.steps_by_fault()
    aborted = history.mark(MARK_ABORTED)
    for i, spec in enumerate(faults):
        fid = f"f{i}"
        if fid not in steps:
            why = f" (the run was aborted first: {aborted.detail or 'no reason recorded'})" if aborted else ""
            problems.append(f"{fid} {spec.type} {spec.target.describe()}: never injected{why}")
    for fid, fsteps in steps.items():
        first = fsteps[0]
        what = f"{fid} {first.type} {first.target}"
        names = [s.step for s in fsteps]
        failed = next((s for s in fsteps if s.step == INJECT_FAILED), None)
        if failed is not None:
            problems.append(f"{what}: injection failed: {failed.detail or 'no detail recorded'}")
        elif INJECT_DONE not in names:
            problems.append(f"{what}: injection never confirmed (no '{INJECT_DONE}' step)")
        last_heal = next((s for s in reversed(fsteps) if s.step in (HEALED, HEAL_FAILED)), None)
        if last_heal is None:
            problems.append(f"{what}: never healed")
        elif last_heal.step == HEAL_FAILED:
            problems.append(f"{what}: heal failed: {last_heal.detail or 'no detail recorded'}")
    if not history.ops:
        problems.append("the load recorded no request: nothing was measured")
    for mark in history.marks:
        if mark.name in INTEGRITY_MARKS:
            problems.append(f"{INTEGRITY_MARKS[mark.name]}: {mark.detail or 'no detail recorded'}")
    if history.torn:
        problems.append(f"{len(history.torn)} records did not reach the history: a writer was stopped in the "
                        f"middle of a line ({', '.join(history.torn)})")
    if not problems:
        return CheckResult(RAN_AS_WRITTEN, Verdict.PASS, figure=0, threshold="problems == 0",
                           detail=f"{len(steps)} faults injected and healed, load and history complete")
    detail = "; ".join(problems)
    return CheckResult(RAN_AS_WRITTEN, Verdict.UNKNOWN, figure=len(problems), threshold="problems == 0",
                       detail=detail, reason=f"the experiment did not run as written: {detail}")


def not_aborted(history: History) -> CheckResult:
    """Fails if the runner stopped the run early (an ``aborted`` mark in the history, with its reason)."""
    mark = history.mark(MARK_ABORTED)
    if mark is None:
        return CheckResult("not_aborted", Verdict.PASS, threshold="no abort_if condition held",
                           detail="the run went to its end")
    reason = mark.detail or "no reason recorded"
    return CheckResult("not_aborted", Verdict.FAIL, threshold="no abort_if condition held", detail=reason,
                       reason=f"the run was aborted: {reason}")
