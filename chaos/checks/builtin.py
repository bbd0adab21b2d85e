"""Checks present in every judgement, whatever the experiment declares."""

from __future__ import annotations

from typing import Sequence

from chaos.checks.verdict import CheckResult, Verdict
from chaos.checks.windows import FaultWindow
from chaos.history import History


def history_not_empty(history: History) -> CheckResult:
    """Fails if the load recorded no request at all: nothing else could be judged."""
    n = len(history.ops)
    if n:
        return CheckResult("history_not_empty", Verdict.PASS, figure=n, threshold="requests > 0",
                           detail=f"{n} requests recorded")
    return CheckResult("history_not_empty", Verdict.FAIL, figure=0, threshold="requests > 0",
                       detail="no requests recorded",
                       reason="the history holds no requests: the load never ran or recorded nothing")


def history_complete(history: History) -> CheckResult:
    """Unknown if records did not reach the history: a file's last line torn (a writer killed while
    writing it, a full disk). What those records said cannot be known, so neither can the verdict."""
    torn = history.torn
    if not torn:
        return CheckResult("history_complete", Verdict.PASS, figure=0, threshold="torn lines == 0",
                           detail="every line of the history is a whole record")
    detail = (f"{len(torn)} records did not reach the history: a writer was stopped in the middle of a "
              f"line ({', '.join(torn)})")
    return CheckResult("history_complete", Verdict.UNKNOWN, figure=len(torn), threshold="torn lines == 0",
                       detail=detail, reason=detail)


def faults_healed(windows: Sequence[FaultWindow]) -> CheckResult:
    """Fails if an injected fault has no ``healed`` step, or any of its heals failed."""
    problems = []
    for w in windows:
        what = f"{w.id} ({w.type} {w.target})"
        if w.heal_failed:
            problems.append(f"healing {what} failed")
        elif w.healed is None:
            problems.append(f"{what} was never healed")
    detail = "; ".join(problems) if problems else f"{len(windows)} faults healed"
    if not problems:
        return CheckResult("faults_healed", Verdict.PASS, figure=0, threshold="unhealed == 0",
                           detail=detail)
    return CheckResult("faults_healed", Verdict.FAIL, figure=len(problems),
                       threshold="unhealed == 0", detail=detail,
                       reason=f"faults not cleanly healed: {detail}")


def not_aborted(history: History) -> CheckResult:
    """Fails if the runner stopped the run early (an ``aborted`` mark in the history, with its reason)."""
    mark = history.mark("aborted")
    if mark is None:
        return CheckResult("not_aborted", Verdict.PASS, threshold="no abort_if condition held",
                           detail="the run went to its end")
    reason = mark.detail or "no reason recorded"
    return CheckResult("not_aborted", Verdict.FAIL, threshold="no abort_if condition held", detail=reason,
                       reason=f"the run was aborted: {reason}")
