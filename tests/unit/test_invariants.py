"""Invariants are judged from the figures the stack reports (chaos/checks/invariants.py): each kind,
the shape checks analyze and the runner share, and analyze re-judging a saved run's money."""

from __future__ import annotations

import json

import pytest
from run_folder import INVARIANTS, make_run

from chaos.analyze import judge_run
from chaos.checks.invariants import (HOLDS, KINDS, Field, Judged, Kind, NUMBER, invariant_checks, problems,
                                     register, reported)
from chaos.checks.verdict import Verdict
from chaos.cli import main


def judged(entry: dict, name: str = "inv"):
    (check,) = invariant_checks({name: entry})
    return check


# --- equals ---------------------------------------------------------------------------------------

def test_equals_holds_when_the_value_is_the_expected_one():
    c = judged({"kind": "equals", "value": 0, "expected": 0, "detail": "sum of balances"})
    assert (c.verdict, c.figure, c.threshold) == (Verdict.PASS, 0, "== 0")
    assert c.detail == "0, expected 0: sum of balances" and c.reason == ""


def test_equals_fails_on_any_other_value_with_the_figure():
    c = judged({"kind": "equals", "value": -300, "expected": 0, "detail": "sum of balances"}, "money_conserved")
    assert (c.verdict, c.figure, c.threshold) == (Verdict.FAIL, -300, "== 0")
    assert c.reason == "money_conserved: does not hold: -300, expected 0: sum of balances"


def test_equals_compares_exactly_and_prints_big_sums_in_full():
    c = judged({"kind": "equals", "value": 10**15 + 1, "expected": 10**15})
    assert c.verdict == Verdict.FAIL and c.detail == "1000000000000001, expected 1000000000000000"
    assert judged({"kind": "equals", "value": 2.5, "expected": 2.5}).verdict == Verdict.PASS


def test_equals_without_a_value_is_unknown_never_a_pass():
    c = judged({"kind": "equals", "value": None, "expected": 0}, "money_conserved")
    assert c.verdict == Verdict.UNKNOWN and c.figure is None
    assert c.reason == "money_conserved: unknown: the stack reported no value"


# --- zero -----------------------------------------------------------------------------------------

def test_zero_holds_at_zero_and_shows_how_many_were_counted():
    c = judged({"kind": "zero", "count": 0, "of": 40, "detail": "wallets below 0"})
    assert (c.verdict, c.figure, c.threshold, c.detail) == (Verdict.PASS, 0, "== 0", "0 of 40: wallets below 0")


def test_zero_fails_on_a_count_above_zero():
    c = judged({"kind": "zero", "count": 2, "detail": "keys used twice"}, "idempotency_key_once")
    assert (c.verdict, c.figure) == (Verdict.FAIL, 2)
    assert c.reason == "idempotency_key_once: does not hold: 2: keys used twice"


def test_zero_without_a_count_is_unknown():
    assert judged({"kind": "zero", "count": None, "of": 3}).verdict == Verdict.UNKNOWN


# --- holds (and entries without a kind: run folders written before kinds) -------------------------

@pytest.mark.parametrize("holds, verdict", [(True, Verdict.PASS), (False, Verdict.FAIL), (None, Verdict.UNKNOWN)])
def test_an_entry_without_a_kind_is_judged_as_the_boolean_it_stored(holds, verdict):
    old = {"holds": holds, "figure": -300, "threshold": "sum == 0", "detail": "sum over all accounts -300"}
    c = judged(old, "money_conserved")
    assert (c.verdict, c.figure, c.threshold, c.detail) == (verdict, -300, "sum == 0", "sum over all accounts -300")
    assert judged({**old, "kind": HOLDS}, "money_conserved") == c
    if verdict == Verdict.FAIL:
        assert c.reason == "money_conserved: does not hold: sum over all accounts -300"


def test_a_holds_entry_without_holds_is_unknown():
    assert judged({"detail": "could not be read: boom"}).verdict == Verdict.UNKNOWN


# --- shapes ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("entry, problem", [
    ("yes", "inv: expected an object, got a string"),
    ({"kind": "sum"}, "inv.kind: expected one of equals, holds, zero, got 'sum'"),
    ({"kind": 3}, "inv.kind: expected one of equals, holds, zero, got a number"),
    ({"kind": "equals", "value": 1}, "inv.expected: missing (kind equals needs a finite number)"),
    ({"kind": "equals", "expected": 0}, "inv.value: missing (kind equals needs a finite number or null)"),
    ({"kind": "equals", "value": True, "expected": 0}, "inv.value: expected a finite number or null, got a boolean"),
    ({"kind": "equals", "value": float("nan"), "expected": 0}, "inv.value: expected a finite number or null, got NaN"),
    ({"kind": "equals", "value": 0, "expected": None}, "inv.expected: expected a finite number, got null"),
    ({"kind": "zero", "count": 1.0}, "inv.count: expected a whole number >= 0 or null, got a number"),
    ({"kind": "zero", "count": 0, "of": -1}, "inv.of: expected a whole number >= 0 or null, got a number"),
    ({"kind": "zero", "count": 0, "detail": 5}, "inv.detail: expected a string, got a number"),
    ({"holds": "yes"}, "inv.holds: expected true, false or null, got a string"),
])
def test_a_malformed_entry_is_named_and_judged_unknown(entry, problem):
    assert problems({"inv": entry}) == [problem]
    c = judged(entry)
    assert c.verdict == Verdict.UNKNOWN and problem in c.reason


def test_extra_keys_are_allowed():
    assert problems({"inv": {"kind": "zero", "count": 0, "unit": "wallets"}}) == []


def test_reported_keeps_a_valid_answer_and_turns_a_malformed_one_into_one_unknown_entry():
    assert reported(INVARIANTS) == INVARIANTS
    for bad, said in (([1], "expected an object (name -> entry), got a list"),
                      ({"money": {"kind": "equals", "value": "0", "expected": 0}}, "money.value: expected"),
                      ({"money": {"kind": "zero", "count": 0, "extra": object()}}, "not JSON")):
        out = reported(bad)
        assert list(out) == ["stack_invariants"] and problems(out) == []
        (c,) = invariant_checks(out)
        assert c.verdict == Verdict.UNKNOWN and said in c.detail, c.detail


def test_a_new_kind_is_one_registered_entry(monkeypatch):
    monkeypatch.setattr("chaos.checks.invariants.KINDS", dict(KINDS))
    register(Kind("at_most", "value <= limit", (Field("value", NUMBER, required=True), Field("limit", NUMBER, required=True)),
                  lambda e: Judged(e["value"] <= e["limit"], e["value"], f"<= {e['limit']}", "")))
    assert problems({"lag": {"kind": "at_most", "value": 3}}) == ["lag.limit: missing (kind at_most needs a finite number)"]
    assert judged({"kind": "at_most", "value": 3, "limit": 2}).verdict == Verdict.FAIL
    with pytest.raises(ValueError, match="registered twice"):
        register(Kind("zero", "", (), lambda e: Judged(None, None, None, "")))


# --- analyze re-judges the money from the figures ------------------------------------------------

def test_analyze_rejudges_money_not_conserved_from_the_figures(tmp_path, capsys):
    broken = {**INVARIANTS, "money_conserved": {"kind": "equals", "value": -300, "expected": 0,
                                                "detail": "the sum of every balance: the bank and 12 wallets"}}
    run_dir = make_run(tmp_path, invariants=broken, judge=False)
    journal = judge_run(run_dir, write=False)
    money = next(c for c in journal["checks"] if c["name"] == "money_conserved")
    assert (money["verdict"], money["figure"], money["threshold"]) == ("fail", -300, "== 0")
    assert journal["verdict"] == "fail"
    assert "money_conserved: does not hold: -300, expected 0: the sum of every balance: the bank and 12 wallets" \
        in journal["reasons"]
    # The same folder with the figures conserved passes: the figures decide, nothing else.
    (run_dir / "invariants.json").write_text(json.dumps(INVARIANTS))
    assert judge_run(run_dir, write=False)["verdict"] == "pass"
    # And through the CLI, as a user re-judges a saved run: exit 1, a check failed.
    (run_dir / "invariants.json").write_text(json.dumps(broken))
    assert main(["analyze", str(run_dir)]) == 1
    assert "money_conserved" in capsys.readouterr().out


def test_analyze_still_reads_a_run_folder_from_before_kinds(tmp_path):
    old = {"money_conserved": {"holds": False, "figure": -300, "threshold": "sum == 0, negative == 0, duplicate keys == 0",
                               "detail": "sum over all accounts -300, 12 wallets, none negative, no key twice"}}
    journal = judge_run(make_run(tmp_path, invariants=old, judge=False), write=False)
    money = next(c for c in journal["checks"] if c["name"] == "money_conserved")
    assert (money["verdict"], money["figure"]) == ("fail", -300)


# --- the live run writes what the stack reports, judged as analyze will judge it ------------------

def _write_invariants(tmp_path, answer) -> tuple[dict, str]:
    import io
    from types import SimpleNamespace

    from chaos import readback

    out = io.StringIO()
    readback.write_invariants(tmp_path, SimpleNamespace(entry_url="http://127.0.0.1:1"),
                              SimpleNamespace(recovery_wait_s=60.0), SimpleNamespace(invariants=lambda url: answer),
                              {}, lambda line: print(line, file=out))
    return json.loads((tmp_path / "invariants.json").read_text()), out.getvalue()


def test_the_runner_writes_the_figures_and_says_each_verdict(tmp_path):
    broken = {**INVARIANTS, "money_conserved": {"kind": "equals", "value": 7, "expected": 0}}
    written, said = _write_invariants(tmp_path, broken)
    assert written == broken
    assert "[invariant] money_conserved: fail (7, expected 0)" in said
    assert "[invariant] no_negative_wallet: pass (0 of 12: wallets with a balance below 0)" in said


def test_a_malformed_answer_of_the_stack_is_one_unknown_invariant_not_a_damaged_run(tmp_path):
    written, said = _write_invariants(tmp_path, {"money_conserved": {"kind": "equals", "value": "0"}})
    assert list(written) == ["stack_invariants"] and problems(written) == []
    assert "[invariant] stack_invariants: unknown (the stack's invariants() answered a malformed value: " \
           "money_conserved.value: expected a finite number or null, got a string; money_conserved.expected: missing" in said
