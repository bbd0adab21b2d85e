"""Invariants a stack reports about itself after the run (its read-back module's ``invariants``),
e.g. the mini-system's ``money_conserved``. The harness does not know what they mean: each becomes
one check, ``pass`` if it holds, ``fail`` if not, ``unknown`` if the stack could not tell."""

from __future__ import annotations

from typing import Mapping

from chaos.checks.verdict import CheckResult, Verdict

# name -> {"holds": bool | None, "figure": number | None, "threshold": str, "detail": str}
Invariants = Mapping[str, Mapping]


def invariant_checks(invariants: Invariants | None) -> list[CheckResult]:
    results = []
    for name, inv in sorted((invariants or {}).items()):
        holds = inv.get("holds")
        verdict = Verdict.PASS if holds is True else Verdict.FAIL if holds is False else Verdict.UNKNOWN
        figure = inv.get("figure")
        detail = str(inv.get("detail", ""))
        results.append(CheckResult(
            name=name, verdict=verdict, figure=figure if isinstance(figure, (int, float)) else None,
            threshold=inv.get("threshold"), detail=detail,
            reason="" if verdict == Verdict.PASS else f"{name}: {'does not hold' if holds is False else 'unknown'}: {detail}"))
    return results
