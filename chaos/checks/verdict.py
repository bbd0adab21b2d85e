"""Verdicts, their composition and the result of one check.

Composition follows Jepsen's ``merge-valid``: fail beats unknown beats pass. A checker that raises
yields ``unknown`` with its error text (Jepsen's ``check-safe``), never a pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Callable, Iterable

from chaos.errors import EXIT_CHECK_FAILED, EXIT_ENVIRONMENT, EXIT_PASS


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


def exit_code_for(verdict: Verdict | str, expected: str) -> int:
    """The exit code of a judged run: 0 when its verdict is the one expected, 1 when it is the
    other definite verdict, 3 when it is ``unknown`` (the run could not be judged, or did not do
    what its experiment says): an unknown is never a pass and never an expected fail."""
    if Verdict(verdict) == Verdict.UNKNOWN:
        return EXIT_ENVIRONMENT
    return EXIT_PASS if Verdict(verdict) == Verdict(expected) else EXIT_CHECK_FAILED
