"""Verdicts, their composition and the result of one check.

Composition follows Jepsen's ``merge-valid``: fail beats unknown beats pass. A checker that raises
yields ``unknown`` with its error text (Jepsen's ``check-safe``), never a pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Callable, Iterable


class Verdict(StrEnum):
    PASS = "pass"
    UNKNOWN = "unknown"
    FAIL = "fail"


_RANK = {Verdict.PASS: 0, Verdict.UNKNOWN: 1, Verdict.FAIL: 2}


def compose(verdicts: Iterable[Verdict | str]) -> Verdict:
    """The worst of ``verdicts``; ``pass`` for none (the identity, so composition nests)."""
    worst = Verdict.PASS
    for v in verdicts:
        v = Verdict(v)
        if _RANK[v] > _RANK[worst]:
            worst = v
    return worst


@dataclass(frozen=True)
class CheckResult:
    """One judged figure. ``reason`` is the one human line shown when the check does not pass."""

    name: str
    verdict: Verdict
    figure: float | None = None
    threshold: str | None = None
    service: str | None = None
    detail: str = ""
    reason: str = ""

    def to_dict(self) -> dict:
        """The journal's form of a check (exactly these keys)."""
        return {"name": self.name, "verdict": self.verdict.value, "figure": self.figure,
                "threshold": self.threshold, "service": self.service, "detail": self.detail}


def check_safe(name: str, service: str | None, checker: Callable[[], CheckResult]) -> CheckResult:
    """Run ``checker``; if it raises, the check is ``unknown`` and says why."""
    try:
        return checker()
    except Exception as e:  # noqa: BLE001 - any crash of a checker becomes an unknown verdict
        text = f"checker crashed: {type(e).__name__}: {e}"
        who = f"{service}: " if service else ""
        return CheckResult(name, Verdict.UNKNOWN, service=service, detail=text,
                           reason=f"{who}{name} could not be judged ({text})")
