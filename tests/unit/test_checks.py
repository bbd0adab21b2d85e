"""Checkers on synthetic histories: exact figures for outages, flapping, losses and verdicts."""

from __future__ import annotations

import pytest

import chaos.checks.rto
from chaos.checks import CheckResult, Verdict, check_safe, compose, fault_windows
from chaos.checks.judge import judge
from chaos.experiment import Experiment, Load, Threshold
from chaos.history import FaultStep, History, Mark, Op

STEP = 0.1


def op(service: str, mono: float, outcome: str = "ok", write_id: str | None = None,
       latency: float = 0.01) -> Op:
    return Op(service=service, op="write" if write_id else "read", outcome=outcome,
              start=1_700_000_000.0 + mono, mono=mono, latency=latency, write_id=write_id)


def timeline(service: str, until: float, outcome_at=lambda t: "ok") -> list[Op]:
    """One op every 0.1 s from 0 to ``until`` (excluded); ``outcome_at(t)`` decides each outcome."""
    return [op(service, t, outcome_at(t)) for t in (round(i * STEP, 6) for i in range(round(until / STEP)))]


def fault(fid: str, injected: float, healed: float | None = None, *,
          heal_failed: bool = False) -> list[FaultStep]:
    base = dict(id=fid, type="power_cut", target="site=pangyo")
    steps = [FaultStep(step="invoked", wall=1_700_000_000.0 + injected, mono=injected, **base),
             FaultStep(step="done", wall=1_700_000_000.0 + injected, mono=injected, **base)]
    if heal_failed:
        steps.append(FaultStep(step="heal_failed", wall=1_700_000_000.0 + (healed or injected),
                               mono=healed or injected, **base))
    elif healed is not None:
        steps.append(FaultStep(step="healed", wall=1_700_000_000.0 + healed, mono=healed, **base))
    return steps


def history(ops, faults=(), stopped: float | None = 40.0) -> History:
    marks = [Mark("load_started", 1_700_000_000.0, 0.0)]
    if stopped is not None:
        marks.append(Mark("load_stopped", 1_700_000_000.0 + stopped, stopped))
    return History(tuple(sorted(ops, key=lambda o: o.mono)),
                   tuple(sorted(faults, key=lambda f: f.mono)), tuple(marks))


def experiment(*thresholds: Threshold, n: int = 5) -> Experiment:
    return Experiment(name="t", description="", stack="dual-site", load=Load(), faults=(),
                      checks=tuple(thresholds), rto_consecutive_ok=n)


def check(judgement, name: str) -> CheckResult:
    return next(c for c in judgement.checks if c.name == name)


RTO_10 = Threshold("rto_s", "<=", 10)
NO_LOSS = Threshold("lost_writes", "==", 0)


# --- verdicts --------------------------------------------------------------------------------

def test_composition_fail_beats_unknown_beats_pass():
    assert compose([]) == Verdict.PASS
    assert compose(["pass", "pass"]) == Verdict.PASS
    assert compose([Verdict.PASS, Verdict.UNKNOWN]) == Verdict.UNKNOWN
    assert compose(["unknown", "fail", "pass"]) == Verdict.FAIL
    assert compose(["fail", "unknown"]) == Verdict.FAIL


def test_check_safe_turns_a_crash_into_unknown():
    def boom():
        raise ValueError("bad data")

    result = check_safe("x[login]", "login", boom)
    assert result.verdict == Verdict.UNKNOWN
    assert "ValueError: bad data" in result.detail
    assert result.reason


def test_a_crashing_measurement_makes_its_checks_unknown(monkeypatch):
    def boom(*args):
        raise RuntimeError("boom")

    monkeypatch.setattr(chaos.checks.rto, "outages", boom)
    h = history(timeline("login", 40.0))
    j = judge(h, experiment(RTO_10), ["login"], readback={})
    rto = check(j, "rto_s[login]")
    assert rto.verdict == Verdict.UNKNOWN
    assert "RuntimeError: boom" in rto.detail
    assert j.verdict == Verdict.UNKNOWN
    assert j.services["login"].availability == 1.0  # other figures still measured


# --- RTO and availability ---------------------------------------------------------------------

def test_no_fault_means_rto_zero_and_full_availability():
    j = judge(history(timeline("login", 40.0)), experiment(RTO_10), ["login"], readback={})
    s = j.services["login"]
    assert s.rto_s == 0.0
    assert s.availability == 1.0
    assert s.requests == 400
    assert s.availability_by_phase["steady"] == {"requests": 400, "availability": 1.0}
    assert s.availability_by_phase["fault"] == {"requests": 0, "availability": None}
    assert check(j, "rto_s[login]").verdict == Verdict.PASS
    assert j.verdict == Verdict.PASS
    assert j.reasons == ()


def test_clean_outage_rto_and_phases():
    ops = timeline("login", 40.0, lambda t: "fail" if 15.0 <= t < 22.0 else "ok")
    j = judge(history(ops, fault("f0", 15.0, 30.0)), experiment(RTO_10), ["login"], readback={})
    s = j.services["login"]
    assert s.rto_s == pytest.approx(7.0)
    assert (s.requests, s.ok, s.failed, s.unknown) == (400, 330, 70, 0)
    assert s.availability == pytest.approx(330 / 400)
    assert s.availability_by_phase["steady"] == {"requests": 150, "availability": 1.0}
    assert s.availability_by_phase["fault"]["requests"] == 150
    assert s.availability_by_phase["fault"]["availability"] == pytest.approx(80 / 150)
    assert s.availability_by_phase["after_heal"] == {"requests": 100, "availability": 1.0}
    rto = check(j, "rto_s[login]")
    assert rto.verdict == Verdict.PASS and rto.figure == pytest.approx(7.0)
    assert "f0" in rto.detail


def test_rto_over_threshold_fails_with_reason():
    ops = timeline("login", 40.0, lambda t: "fail" if 15.0 <= t < 27.0 else "ok")
    j = judge(history(ops, fault("f0", 15.0, 35.0)), experiment(RTO_10), ["login"], readback={})
    assert j.services["login"].rto_s == pytest.approx(12.0)
    assert check(j, "rto_s[login]").verdict == Verdict.FAIL
    assert j.reasons == ("login: recovered 12.0 s after f0 (power_cut), expected rto_s <= 10",)


def test_never_recovered_fails_and_says_never():
    ops = timeline("payment", 40.0, lambda t: "fail" if t >= 15.0 else "ok")
    j = judge(history(ops, fault("f0", 15.0, 30.0)), experiment(RTO_10), ["payment"], readback={})
    assert j.services["payment"].rto_s is None
    rto = check(j, "rto_s[payment]")
    assert rto.verdict == Verdict.FAIL and rto.figure is None
    assert j.verdict == Verdict.FAIL
    assert ("payment: never recovered within the 15.0 s outage window "
            "(150 requests, 0 ok after the fault)") in j.reasons


def test_unhealed_fault_window_runs_to_load_stopped():
    ops = timeline("login", 40.0, lambda t: "fail" if 15.0 <= t < 36.0 else "ok")
    j = judge(history(ops, fault("f0", 15.0)), experiment(RTO_10), ["login"], readback={})
    assert j.services["login"].rto_s == pytest.approx(21.0)
    assert j.services["login"].availability_by_phase["after_heal"]["requests"] == 0
    healed = check(j, "ran_as_written")
    assert healed.verdict == Verdict.UNKNOWN and "f0 power_cut site=pangyo: never healed" in healed.detail
    assert j.verdict == Verdict.UNKNOWN


def test_flapping_counts_until_recovery_holds():
    def outcome(t):
        if 15.0 <= t < 16.0:
            return "fail"
        if 16.0 <= t < 16.3:  # 3 ok in a row: shorter than N
            return "ok"
        if 16.3 <= t < 17.0:
            return "unknown"
        if 17.0 <= t < 17.5:  # 5 ok in a row, then failing again: does not hold
            return "ok"
        if 17.5 <= t < 20.0:
            return "fail"
        return "ok"

    ops = timeline("login", 40.0, outcome)
    j = judge(history(ops, fault("f0", 15.0, 30.0)), experiment(RTO_10, n=5), ["login"], readback={})
    assert j.services["login"].rto_s == pytest.approx(5.0)


def test_too_few_ok_ops_at_window_end_is_not_recovery():
    ops = timeline("login", 40.0, lambda t: "fail" if 15.0 <= t < 29.7 else "ok")
    j = judge(history(ops, fault("f0", 15.0, 30.0)), experiment(RTO_10, n=5), ["login"], readback={})
    assert j.services["login"].rto_s is None  # only 3 ok ops before the window closes


def test_overlapping_faults_each_judged_on_the_outage_it_caused():
    # f0 [10, 30) causes failures 10-14; f1, injected at 20 while f0 is active, causes 20-27.
    # f1 takes the window over at 20: f0's RTO is 4 s, f1's 7 s; the service's RTO is the worst.
    ops = timeline("login", 40.0, lambda t: "fail" if 10.0 <= t < 14.0 or 20.0 <= t < 27.0 else "ok")
    h = history(ops, fault("f0", 10.0, 30.0) + fault("f1", 20.0, 35.0))
    j = judge(h, experiment(RTO_10), ["login"], readback={})
    s = j.services["login"]
    assert [o.fault_id for o in s.outages] == ["f0", "f1"]
    assert [o.rto_s for o in s.outages] == [pytest.approx(4.0), pytest.approx(7.0)]
    assert s.rto_s == pytest.approx(7.0)
    assert s.availability_by_phase["fault"]["requests"] == 250  # [10, 35)
    assert s.availability_by_phase["after_heal"]["requests"] == 50  # [35, 40)
    assert check(j, "rto_s[login]").verdict == Verdict.PASS


def test_a_chain_slowness_then_power_cut_is_not_never_recovered():
    # The fire chain: latency 10-30.6 s (no failures), power cut at 30 s (failures 30-39 s),
    # power back at 76.6 s. Before the hand-over the latency window ended at its heal, with the
    # power cut's failures at its end: "never recovered". Now each fault has its own outage.
    ops = timeline("login", 80.0, lambda t: "fail" if 30.0 <= t < 39.0 else "ok")
    h = history(ops, fault("f0", 10.0, 30.6) + fault("f1", 30.0, 76.6), stopped=80.0)
    w0, w1 = fault_windows(h)
    assert (w0.end, w1.end) == (30.0, 76.6)
    j = judge(h, experiment(Threshold("rto_s", "<=", 15)), ["login"], readback={})
    assert [o.rto_s for o in j.services["login"].outages] == [0.0, pytest.approx(9.0)]
    assert j.verdict == Verdict.PASS


def test_fault_windows_from_history():
    h = history([], fault("f0", 10.0, 30.0) + fault("f1", 20.0), stopped=40.0)
    w0, w1 = fault_windows(h)
    # f1 was injected while f0 was active: f0's window ends there, f1's runs to the load's end.
    assert (w0.injected, w0.healed, w0.end, w0.heal_ok) == (10.0, 30.0, 20.0, True)
    assert (w1.injected, w1.healed, w1.end, w1.heal_ok) == (20.0, None, 40.0, False)


def test_steps_by_fault_orders_each_faults_steps_by_time_and_the_ids_by_their_first_step():
    """One grouping serves ran_as_written and fault_windows: records out of order (a History built
    by hand, or two writers) come back in the order they were written."""
    f0, f1 = fault("f0", 10.0, 30.0), fault("f1", 20.0, 25.0)
    h = History(ops=(), faults=tuple(reversed(f1 + f0)), marks=())
    by_fault = h.steps_by_fault()
    assert list(by_fault) == ["f0", "f1"]
    assert [s.mono for s in by_fault["f0"]] == sorted(s.mono for s in f0)
    assert [s.step for s in by_fault["f1"]][-1] == "healed" and len(by_fault["f1"]) == 3
    assert History((), (), ()).steps_by_fault() == {}


def test_latency_percentiles_over_ok_ops():
    ops = [op("login", i * 0.1, latency=(i + 1) / 1000) for i in range(100)]
    ops.append(op("login", 20.0, "fail", latency=5.0))
    s = judge(history(ops), experiment(), ["login"], readback={}).services["login"]
    assert s.latency_ms == {"p50": pytest.approx(50.0), "p95": pytest.approx(95.0),
                            "p99": pytest.approx(99.0)}


# --- data loss --------------------------------------------------------------------------------

def test_all_unknown_outcomes_are_unavailable_but_not_lost():
    ops = [op("messaging", i * 0.1, "unknown", write_id=f"m{i}") for i in range(20)]
    readback = {"messaging": {f"m{i}": 0 for i in range(20)}}
    j = judge(history(ops), experiment(NO_LOSS), ["messaging"], readback)
    s = j.services["messaging"]
    assert s.availability == 0.0
    assert (s.acked_writes, s.lost_writes, s.unknown_writes, s.recovered_writes) == (0, 0, 20, 0)
    assert check(j, "lost_writes[messaging]").verdict == Verdict.PASS


def test_duplicates_are_counted():
    ops = [op("messaging", 1.0, write_id="a"), op("messaging", 1.1, write_id="b")]
    j = judge(history(ops), experiment(), ["messaging"], {"messaging": {"a": 2, "b": 1}})
    assert j.services["messaging"].duplicate_writes == 1
    assert j.services["messaging"].lost_writes == 0


def test_one_lost_write_among_5000_is_found_and_listed():
    ops = [op("messaging", i * 0.001, write_id=f"w{i:04d}") for i in range(5000)]
    copies = {f"w{i:04d}": 1 for i in range(5000)}
    copies["w1234"] = 0
    j = judge(history(ops), experiment(NO_LOSS), ["messaging"], {"messaging": copies})
    s = j.services["messaging"]
    assert (s.acked_writes, s.lost_writes) == (5000, 1)
    assert s.lost_ids == ("w1234",)
    assert check(j, "lost_writes[messaging]").verdict == Verdict.FAIL
    assert "messaging: 1 acknowledged write lost (ids: w1234)" in j.reasons


def test_acked_write_missing_from_readback_is_lost():
    ops = [op("messaging", 1.0, write_id=i) for i in ("c", "a", "b")]
    s = judge(history(ops), experiment(), ["messaging"], {"messaging": {}}).services["messaging"]
    assert s.lost_ids == ("a", "b", "c")


def test_unknown_writes_found_later_are_recovered_the_rest_stay_indeterminate():
    ops = [op("payment", 1.0, "unknown", write_id="u1"),
           op("payment", 1.1, "unknown", write_id="u2"),
           op("payment", 1.2, "unknown", write_id="r1"),
           op("payment", 1.3, "ok", write_id="r1"),  # a retry acknowledged it
           op("payment", 1.4, "fail", write_id="f1")]
    readback = {"payment": {"u1": 1, "u2": 0, "r1": 1, "f1": 0}}
    s = judge(history(ops), experiment(), ["payment"], readback).services["payment"]
    assert (s.acked_writes, s.recovered_writes, s.unknown_writes, s.lost_writes) == (1, 1, 1, 0)


def test_no_readback_makes_loss_thresholds_unknown():
    ops = [op("messaging", 1.0, write_id="a")]
    j = judge(history(ops), experiment(NO_LOSS), ["messaging"], readback=None)
    s = j.services["messaging"]
    assert s.acked_writes == 1
    assert s.lost_writes is None and s.lost_ids is None
    lost = check(j, "lost_writes[messaging]")
    assert lost.verdict == Verdict.UNKNOWN and "read-back" in lost.detail
    assert j.verdict == Verdict.UNKNOWN


def test_readback_without_the_service_is_unknown_only_if_it_wrote():
    ops = [op("messaging", 1.0, write_id="a"), op("login", 1.0)]
    j = judge(history(ops), experiment(NO_LOSS), ["login", "messaging"], readback={})
    assert check(j, "lost_writes[login]").verdict == Verdict.PASS
    assert check(j, "lost_writes[messaging]").verdict == Verdict.UNKNOWN


# --- judgement --------------------------------------------------------------------------------

def test_empty_history_fails_and_the_run_is_unknown():
    # No request recorded: nothing was measured. Unknown, never the fail a single-site stack is
    # expected to give (history_not_empty's FAIL alone made such a run an "expected fail", exit 0).
    j = judge(history([]), experiment(RTO_10), ["login"], readback={})
    assert check(j, "history_not_empty").verdict == Verdict.FAIL
    assert check(j, "ran_as_written").detail == "the load recorded no request: nothing was measured"
    assert j.verdict == Verdict.UNKNOWN


def test_listed_service_without_ops_appears_and_is_unknown():
    j = judge(history(timeline("login", 10.0)), experiment(RTO_10), ["login", "payment"], {})
    s = j.services["payment"]
    assert s.requests == 0 and s.availability is None
    assert check(j, "rto_s[payment]").verdict == Verdict.UNKNOWN
    assert check(j, "rto_s[login]").verdict == Verdict.PASS
    assert j.verdict == Verdict.UNKNOWN


def test_a_failed_heal_makes_the_run_unknown():
    h = history(timeline("login", 40.0), fault("f0", 15.0, 20.0, heal_failed=True))
    j = judge(h, experiment(), ["login"], {})
    healed = check(j, "ran_as_written")
    assert healed.verdict == Verdict.UNKNOWN and "f0 power_cut site=pangyo: heal failed" in healed.detail
    assert j.verdict == Verdict.UNKNOWN


def test_a_heal_that_failed_then_succeeded_on_the_retry_is_healed():
    steps = fault("f0", 15.0, 20.0, heal_failed=True) + [
        FaultStep("f0", "power_cut", "site=pangyo", "healed", 1_700_000_021.0, 21.0)]
    j = judge(history(timeline("login", 40.0), steps), experiment(), ["login"], {})
    assert check(j, "ran_as_written").verdict == Verdict.PASS
    assert j.verdict == Verdict.PASS


def failed_injection(error: str = "unknown signal SIGKIL") -> list[FaultStep]:
    base = dict(id="f0", type="kill", target="service=payment")
    return [FaultStep(step="invoked", wall=1_700_000_015.0, mono=15.0, **base),
            FaultStep(step="inject_failed", wall=1_700_000_015.1, mono=15.1, detail=error, **base),
            FaultStep(step="heal_invoked", wall=1_700_000_030.0, mono=30.0, **base),
            FaultStep(step="healed", wall=1_700_000_030.1, mono=30.1, **base)]


def test_a_fault_that_never_landed_makes_the_run_unknown_not_pass():
    # Every request ok, every threshold met: without the injection the run "passed" before.
    j = judge(history(timeline("login", 40.0), failed_injection()), experiment(RTO_10), ["login"], {})
    as_written = j.checks[0]
    assert as_written.name == "ran_as_written" and as_written.verdict == Verdict.UNKNOWN
    assert as_written.detail == "f0 kill service=payment: injection failed: unknown signal SIGKIL"
    assert j.verdict == Verdict.UNKNOWN
    assert j.reasons[0] == ("the experiment did not run as written: "
                            "f0 kill service=payment: injection failed: unknown signal SIGKIL")


def test_a_run_that_did_not_happen_is_never_an_expected_fail():
    # A failing check and a failed injection: unknown, not the fail a single-site stack expects.
    ops = timeline("login", 40.0, lambda t: "fail" if t >= 15.0 else "ok")
    j = judge(history(ops, failed_injection()), experiment(RTO_10), ["login"], {})
    assert check(j, "rto_s[login]").verdict == Verdict.FAIL
    assert j.verdict == Verdict.UNKNOWN


def test_a_declared_fault_never_injected_makes_the_run_unknown_even_when_aborted():
    from chaos.experiment import FaultSpec, Target

    exp = Experiment(name="t", description="", stack="dual-site", load=Load(),
                     faults=(FaultSpec("power_cut", Target(site="pangyo"), 15.0),), checks=())
    j = judge(history(timeline("login", 40.0)), exp, ["login"], {})
    assert check(j, "ran_as_written").detail == "f0 power_cut site=pangyo: never injected"
    assert j.verdict == Verdict.UNKNOWN
    # Aborted before the decisive fault: not the fail a single-site stack is expected to give.
    aborted = History(tuple(timeline("login", 10.0)), (), (Mark("load_started", 1_700_000_000.0, 0.0),
                                                           Mark("aborted", 1_700_000_010.0, 10.0, "stop"),
                                                           Mark("load_stopped", 1_700_000_010.0, 10.0)))
    j = judge(aborted, exp, ["login"], {})
    assert check(j, "ran_as_written").detail == ("f0 power_cut site=pangyo: never injected "
                                                 "(the run was aborted first: stop)")
    assert check(j, "not_aborted").verdict == Verdict.FAIL
    assert j.verdict == Verdict.UNKNOWN


@pytest.mark.parametrize("name, says", [
    ("load_ended_early", "the load ended before its time: Locust exited with 1"),
    ("records_lost", "the load's requests did not all reach the history: Locust exited with 1"),
    ("history_write_failed", "the history could not be written as the run went: Locust exited with 1"),
])
def test_marks_of_an_incomplete_run_make_it_unknown(name, says):
    h = history(timeline("login", 40.0))
    h = History(h.ops, h.faults, h.marks + (Mark(name, 1_700_000_030.0, 30.0, "Locust exited with 1"),))
    j = judge(h, experiment(), ["login"], {})
    assert check(j, "ran_as_written").detail == says
    assert j.verdict == Verdict.UNKNOWN


def test_an_injection_without_its_done_step_is_not_taken_as_landed():
    steps = [s for s in fault("f0", 15.0, 30.0) if s.step != "done"]
    j = judge(history(timeline("login", 40.0), steps), experiment(), ["login"], {})
    assert "f0 power_cut site=pangyo: injection never confirmed" in check(j, "ran_as_written").detail


def test_threshold_for_one_service_and_unknown_metric():
    j = judge(history(timeline("login", 10.0) + timeline("payment", 10.0)),
              experiment(Threshold("availability", ">=", 0.99, service="login"),
                         Threshold("bogus", "<=", 1)), ["login", "payment"], {})
    names = [c.name for c in j.checks]
    assert names == ["ran_as_written", "history_not_empty", "availability[login]",
                     "bogus[login]", "bogus[payment]"]
    assert check(j, "availability[login]").verdict == Verdict.PASS
    assert check(j, "bogus[login]").verdict == Verdict.UNKNOWN


def test_phase_threshold_without_requests_in_phase_is_unknown():
    j = judge(history(timeline("login", 10.0)),
              experiment(Threshold("availability_fault", ">=", 0.5)), ["login"], {})
    c = check(j, "availability_fault[login]")
    assert c.verdict == Verdict.UNKNOWN and "fault phase" in c.detail


def test_disruption_caused_by_the_heal_is_not_part_of_the_rto():
    # Outage 15.0-22.0 s; the heal starts at 30.0 and finishes at 32.0; bringing the site back
    # causes failures 30.5-31.0 s. The window closes when the heal starts, so RTO stays 7.0.
    ops = timeline("login", 40.0, lambda t: "fail" if 15.0 <= t < 22.0 or 30.5 <= t < 31.0 else "ok")
    steps = fault("f0", 15.0, 32.0)
    steps.insert(1, FaultStep(id="f0", type="power_cut", target="site=pangyo", step="heal_invoked",
                              wall=1_700_000_030.0, mono=30.0))
    j = judge(history(ops, steps), experiment(RTO_10), ["login"], readback={})
    (window,) = fault_windows(history(ops, steps))
    assert (window.injected, window.end, window.healed) == (15.0, 30.0, 32.0)
    assert j.services["login"].rto_s == pytest.approx(7.0)
    # Without the heal_invoked step the same failures fall inside the window: 31.0 - 15.0.
    j2 = judge(history(ops, fault("f0", 15.0, 32.0)), experiment(RTO_10), ["login"], readback={})
    assert j2.services["login"].rto_s == pytest.approx(16.0)


def test_invariants_the_stack_reports_become_checks():
    h = history(timeline("login", 40.0))
    inv = {"money_conserved": {"holds": False, "figure": -300, "threshold": "sum == 0",
                               "detail": "sum over all accounts -300"},
           "queue_drained": {"holds": True, "figure": 0, "threshold": "depth == 0", "detail": "empty"},
           "mystery": {"holds": None, "detail": "could not be read"}}
    j = judge(h, experiment(), ["login"], readback={}, invariants=inv)
    assert check(j, "money_conserved").verdict == Verdict.FAIL
    assert check(j, "money_conserved").figure == -300
    assert check(j, "queue_drained").verdict == Verdict.PASS
    assert check(j, "mystery").verdict == Verdict.UNKNOWN
    assert j.verdict == Verdict.FAIL
    assert "money_conserved: does not hold: sum over all accounts -300" in j.reasons
    # With no invariants reported, nothing is added and nothing is assumed.
    assert not any(c.name == "money_conserved" for c in judge(h, experiment(), ["login"], readback={}).checks)


def test_requests_cut_by_a_later_fault_count_against_that_fault():
    # Requests that start just before the power cut (29.8-30.0 s) and fail 0.3 s later were cut
    # by it: judged by when they ended, they belong to the power cut's window, not the latency's.
    ops = timeline("login", 80.0, lambda t: "ok")
    ops = [o for o in ops if not 29.8 <= o.mono < 39.0]
    ops += [op("login", 29.8 + i * 0.05, "unknown", latency=0.3) for i in range(4)]
    ops += [op("login", 30.0 + i * 0.1, "fail") for i in range(90)]
    h = history(ops, fault("f0", 10.0, 30.6) + fault("f1", 30.0, 76.6), stopped=80.0)
    j = judge(h, experiment(Threshold("rto_s", "<=", 15)), ["login"], readback={})
    assert [o.rto_s for o in j.services["login"].outages] == [0.0, pytest.approx(9.0)]
