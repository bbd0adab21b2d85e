"""Invariants a stack reports about itself after the run, judged here from the FIGURES it reports.

A stack's read-back may define ``invariants(base_url)``; the runner writes what it returns to the
run folder's ``invariants.json`` and ``judge`` turns each entry into one check, here, by a pure
function of the entry. ``analyze`` re-judges a saved run through the same function, so it re-judges
the money of a run as it re-judges its RTO: from the figures, not from a stored boolean.

The harness does not know what an invariant means (money, queues, replicas): an entry's ``kind``
says how its figures are judged. ``KINDS`` holds every kind, name -> ``Kind``::

    equals  {"kind": "equals", "value": number | null, "expected": number}
            holds when value == expected, compared exactly (report whole numbers: minor units,
            counts). The mini-system's ``money_conserved``: the sum over every account, expected 0.
    zero    {"kind": "zero", "count": whole number >= 0 | null, "of"?: whole number >= 0 | null}
            a count of things that break a rule; holds when it is 0. ``of``: how many were
            looked at (wallets counted), shown beside the figure.
    holds   {"kind"?: "holds", "holds": true | false | null, "figure"?: number | null,
             "threshold"?: str | null}
            a yes/no reached elsewhere, with nothing to re-judge: the runner's steady-state
            commands (their exit status), a read-back that failed, and every entry without a
            ``kind``, which is how run folders written before kinds existed stored each invariant
            (their ``money_conserved`` is read, and judged as the boolean it stored). A stack
            reports figures (``equals``, ``zero``), not this.

Every entry may carry ``detail`` (a string: the stack's own words, shown beside the verdict); other
keys are allowed and ignored. A figure of ``null`` means the stack could not tell: ``unknown``,
never a pass.

Adding a kind is one entry: ``register(Kind(...))`` with its fields (each checked by ``problems``,
which ``analyze`` and the runner use) and its ``judge``, a pure function of a checked entry.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Callable, Mapping

from chaos.checks.verdict import CheckResult, Verdict
from chaos.files import json_type, shown

# name -> entry (see the module's docstring)
Invariants = Mapping[str, Mapping]

HOLDS = "holds"  # the kind of an entry without one


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _count(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _or_null(ok: Callable[[object], bool]) -> Callable[[object], bool]:
    return lambda v: v is None or ok(v)


NUMBER = (_number, "a finite number")
NUMBER_OR_NULL = (_or_null(_number), "a finite number or null")
COUNT_OR_NULL = (_or_null(_count), "a whole number >= 0 or null")
BOOL_OR_NULL = (lambda v: v is None or isinstance(v, bool), "true, false or null")
TEXT = (lambda v: isinstance(v, str), "a string")
TEXT_OR_NULL = (lambda v: v is None or isinstance(v, str), "a string or null")


@dataclass(frozen=True)
class Field:
    key: str
    check: tuple[Callable[[object], bool], str]  # (accepts the value, what it should be)
    required: bool = False


COMMON = (Field("detail", TEXT),)  # what any entry may carry, besides its kind's fields


@dataclass(frozen=True)
class Judged:
    """What a kind makes of an entry: ``holds`` (None: could not tell), the figure, the threshold
    as text, and what the figure says (the check's detail begins with it, then the entry's own)."""

    holds: bool | None
    figure: float | None
    threshold: str | None
    says: str


@dataclass(frozen=True)
class Kind:
    """One kind of invariant: its ``fields`` (besides ``kind`` and ``detail``) and ``judge``, a pure
    function of an entry whose fields have been checked."""

    name: str
    doc: str
    fields: tuple[Field, ...]
    judge: Callable[[Mapping], Judged]


KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    if kind.name in KINDS:
        raise ValueError(f"invariant kind {kind.name!r} is registered twice")
    KINDS[kind.name] = kind
    return kind


def number_text(v: float) -> str:
    """A figure as a message prints it: whole numbers in full (a sum of minor units), others as %g."""
    if isinstance(v, int) or (isinstance(v, float) and v.is_integer() and abs(v) < 2**53):
        return str(int(v))
    return f"{v:g}"


def _equals(entry: Mapping) -> Judged:
    value, expected = entry.get("value"), entry["expected"]
    threshold = f"== {number_text(expected)}"
    if value is None:
        return Judged(None, None, threshold, "the stack reported no value")
    return Judged(value == expected, value, threshold,
                  f"{number_text(value)}, expected {number_text(expected)}")


def _zero(entry: Mapping) -> Judged:
    count, of = entry.get("count"), entry.get("of")
    if count is None:
        return Judged(None, None, "== 0", "the stack reported no count")
    return Judged(count == 0, count, "== 0", number_text(count) + (f" of {number_text(of)}" if of is not None else ""))


def _holds(entry: Mapping) -> Judged:
    holds, figure = entry.get("holds"), entry.get("figure")
    return Judged(holds, figure, entry.get("threshold"), "")


register(Kind("equals", "value == expected, exactly.",
              (Field("value", NUMBER_OR_NULL, required=True), Field("expected", NUMBER, required=True)), _equals))
register(Kind("zero", "a count of what breaks the rule; holds when 0.",
              (Field("count", COUNT_OR_NULL, required=True), Field("of", COUNT_OR_NULL)), _zero))
register(Kind(HOLDS, "a yes/no decided elsewhere (steady-state commands; run folders before kinds).",
              (Field("holds", BOOL_OR_NULL), Field("figure", NUMBER_OR_NULL), Field("threshold", TEXT_OR_NULL)),
              _holds))


def kind_of(entry: Mapping) -> str:
    return entry.get("kind", HOLDS)


def entry_problems(name: str, entry: object) -> list[str]:
    """What is wrong with one entry, each as ``name.key: what``; [] for a valid one."""
    where = shown(name)
    if not isinstance(entry, dict):
        return [f"{where}: expected an object, got {json_type(entry)}"]
    kind_name = kind_of(entry)
    kind = KINDS.get(kind_name) if isinstance(kind_name, str) else None
    problems = []
    if kind is None:
        got = f"'{shown(kind_name)}'" if isinstance(kind_name, str) else json_type(kind_name)
        problems.append(f"{where}.kind: expected one of {', '.join(sorted(KINDS))}, got {got}")
    for field in (*COMMON, *(kind.fields if kind else ())):
        ok, want = field.check
        if field.key not in entry:
            if field.required:
                problems.append(f"{where}.{field.key}: missing (kind {kind.name} needs {want})")
        elif not ok(entry[field.key]):
            problems.append(f"{where}.{field.key}: expected {want}, got {json_type(entry[field.key])}")
    return problems


def problems(invariants: Mapping) -> list[str]:
    """What is wrong with a whole ``invariants.json`` object (see the module's docstring)."""
    return [p for name, entry in invariants.items() for p in entry_problems(name, entry)]


def reported(answer: object, source: str = "the stack's invariants()") -> dict:
    """What a stack's ``invariants()`` returned, fit to be written to ``invariants.json``: the
    answer itself when it has the documented shape, else one entry ``stack_invariants`` that is
    ``unknown`` and says what is wrong (a malformed answer loses its figures, never the run)."""
    wrong: list[str]
    if not isinstance(answer, dict):
        wrong = [f"expected an object (name -> entry), got {json_type(answer)}"]
    else:
        wrong = problems(answer)
        if not wrong:
            try:
                return json.loads(json.dumps(answer, allow_nan=False))
            except (TypeError, ValueError) as e:
                wrong = [f"not JSON: {e}"]
    more = f" (and {len(wrong) - 3} more)" if len(wrong) > 3 else ""
    return {"stack_invariants": {"kind": HOLDS, "holds": None,
                                 "detail": f"{source} answered a malformed value: {'; '.join(wrong[:3])}{more}"}}


def judge_invariant(name: str, entry: Mapping) -> CheckResult:
    """One entry, checked (``entry_problems``) or not: a malformed one is ``unknown``, saying why."""
    wrong = entry_problems(name, entry)
    if wrong:
        return CheckResult(name=name, verdict=Verdict.UNKNOWN, detail="; ".join(wrong),
                           reason=f"{name}: unknown: {'; '.join(wrong)}")
    judged = KINDS[kind_of(entry)].judge(entry)
    detail = str(entry.get("detail") or "")
    said = ": ".join(s for s in (judged.says, detail) if s)
    verdict = Verdict.PASS if judged.holds is True else Verdict.FAIL if judged.holds is False else Verdict.UNKNOWN
    reason = ("" if verdict == Verdict.PASS else
              f"{name}: {'does not hold' if verdict == Verdict.FAIL else 'unknown'}" + (f": {said}" if said else ""))
    return CheckResult(name=name, verdict=verdict, figure=judged.figure, threshold=judged.threshold,
                       detail=said, reason=reason)


def invariant_checks(invariants: Invariants | None) -> list[CheckResult]:
    """One check per entry, by name."""
    return [judge_invariant(name, entry) for name, entry in sorted((invariants or {}).items())]
