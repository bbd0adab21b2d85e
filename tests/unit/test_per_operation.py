"""Figures per operation and per kind, the stack's declaration of its operations, and the
read-your-writes checker, on synthetic histories (as in test_checks.py)."""

from __future__ import annotations

import json

import pytest

from chaos.checks import Verdict
from chaos.checks.judge import judge
from chaos.checks.read_your_writes import read_your_writes
from chaos.errors import ExperimentInvalid
from chaos.experiment import Experiment, Load, Threshold
from chaos.history import FaultStep, History, Mark, Op
from chaos.loader import load_experiment_text, validate_targets
from chaos.reports.journal import build_journal, validate_journal_shape
from chaos.reports.summary import render_summary

WALL = 1_700_000_000.0
STEP = 0.1
DECLARED = {"login": {"login": "read", "signup": "write"}, "payment": {"pay": "write", "balance": "read"}}


def op(service: str, name: str, mono: float, outcome: str = "ok", write_id: str | None = None, *,
       who: str | None = None, expect: tuple[str, ...] = (), saw: tuple[str, ...] | None = None,
       latency: float = 0.01) -> Op:
    return Op(service=service, op=name, outcome=outcome, start=WALL + mono, mono=mono, latency=latency,
              write_id=write_id, who=who, expect=expect, saw=saw)


def ticks(until: float, start: float = 0.0):
    return [round(start + i * STEP, 6) for i in range(round((until - start) / STEP))]


def power_cut(injected: float = 10.0, healed: float = 40.0) -> list[FaultStep]:
    base = dict(id="f0", type="power_cut", target="site=pangyo")
    return [FaultStep(step="invoked", wall=WALL + injected, mono=injected, **base),
            FaultStep(step="done", wall=WALL + injected, mono=injected, **base),
            FaultStep(step="healed", wall=WALL + healed, mono=healed, **base)]


def history(ops, faults=(), stopped: float = 50.0) -> History:
    marks = (Mark("load_started", WALL, 0.0), Mark("load_stopped", WALL + stopped, stopped))
    return History(tuple(sorted(ops, key=lambda o: o.mono)), tuple(faults), marks)


def experiment(*thresholds: Threshold, n: int = 5) -> Experiment:
    return Experiment(name="t", description="", stack="dual-site", load=Load(), faults=(),
                      checks=tuple(thresholds), rto_consecutive_ok=n)


def check(judgement, name: str):
    return next(c for c in judgement.checks if c.name == name)


def login_survives_writes_wait() -> History:
    """A power cut at 10 s: logins fail for 2 s, signups (writes) for 25 s; load until 50 s."""
    ops = []
    for t in ticks(50.0):
        ops.append(op("login", "login", t, "fail" if 10.0 <= t < 12.0 else "ok"))
        ops.append(op("login", "signup", t + 0.05, "fail" if 10.0 <= t < 35.0 else "ok", write_id=f"u{t}"))
    return history(ops, power_cut())


# --- RTO per operation and per kind -------------------------------------------------------------

def test_login_back_after_2_s_while_writes_wait_25_s():
    j = judge(login_survives_writes_wait(), experiment(
        Threshold("rto_s", "<=", 3, service="login", operation="login"),
        Threshold("rto_s", "<=", 30, kind="write"),
        Threshold("rto_s", "<=", 3, kind="write")), ["login"], readback={"login": {}})
    login = j.services["login"]
    assert login.operations["login"].values["rto_s"] == pytest.approx(2.0)
    assert login.operations["signup"].values["rto_s"] == pytest.approx(25.05)
    assert login.kinds["read"].values["rto_s"] == pytest.approx(2.0)
    assert login.kinds["write"].values["rto_s"] == pytest.approx(25.05)
    assert login.values["rto_s"] == pytest.approx(25.0)  # the service: its first op after the last failure
    assert login.operations["login"].kind == "read" and login.operations["signup"].kind == "write"
    assert check(j, "rto_s[login op=login]").verdict == Verdict.PASS
    assert check(j, "rto_s[login kind=write]").verdict == Verdict.PASS
    failed = [c for c in j.checks if c.name == "rto_s[login kind=write]" and c.verdict == Verdict.FAIL]
    assert len(failed) == 1 and failed[0].figure == pytest.approx(25.05)
    assert any(r.startswith("login kind=write: ") for r in j.reasons)


def test_an_operation_with_no_request_inside_the_window_is_unknown_never_0_s():
    ops = [op("login", "login", t) for t in ticks(50.0)]
    ops += [op("login", "signup", t, write_id=f"u{t}") for t in ticks(8.0)]  # none after the fault
    j = judge(history(ops, power_cut()), experiment(Threshold("rto_s", "<=", 3, operation="signup")),
              ["login"], readback={"login": {f"u{t}": 1 for t in ticks(8.0)}})
    signup = j.services["login"].operations["signup"]
    assert signup.values.get("rto_s") is None
    assert "no requests inside the outage window of f0" in signup.missing["rto_s"]
    result = check(j, "rto_s[login op=signup]")
    assert result.verdict == Verdict.UNKNOWN and result.figure is None
    assert j.services["login"].operations["login"].values["rto_s"] == 0.0


def test_a_service_without_requests_in_a_fault_window_has_an_unknown_rto():
    ops = [op("login", "login", t) for t in ticks(9.0)] + [op("payment", "pay", t, write_id=f"p{t}")
                                                          for t in ticks(50.0)]
    j = judge(history(ops, power_cut()), experiment(Threshold("rto_s", "<=", 30)), ["login", "payment"],
              readback={"payment": {f"p{t}": 1 for t in ticks(50.0)}})
    assert check(j, "rto_s[login]").verdict == Verdict.UNKNOWN
    assert check(j, "rto_s[payment]").verdict == Verdict.PASS


def test_never_recovered_beats_unmeasured():
    """One fault's window without requests does not hide another the operation never recovered from."""
    base = dict(type="power_cut", target="site=pangyo")
    faults = [FaultStep(id="f0", step="invoked", wall=WALL + 5, mono=5.0, **base),
              FaultStep(id="f0", step="healed", wall=WALL + 15, mono=15.0, **base),
              FaultStep(id="f1", step="invoked", wall=WALL + 20, mono=20.0, **base),
              FaultStep(id="f1", step="healed", wall=WALL + 40, mono=40.0, **base)]
    ops = [op("login", "login", t, "fail" if t >= 20 else "ok") for t in ticks(50.0) if not 4 <= t < 16]
    j = judge(history(ops, faults), experiment(Threshold("rto_s", "<=", 30, operation="login")), ["login"])
    assert check(j, "rto_s[login op=login]").verdict == Verdict.FAIL


def test_a_kind_threshold_judges_only_the_services_that_have_that_kind():
    ops = [op("login", "login", t) for t in ticks(20.0)] + [op("payment", "pay", t, write_id=f"p{t}")
                                                           for t in ticks(20.0)]
    j = judge(history(ops), experiment(Threshold("rto_s", "<=", 30, kind="write")), ["login", "payment"],
              readback={"payment": {f"p{t}": 1 for t in ticks(20.0)}})
    names = [c.name for c in j.checks if c.name.startswith("rto_s")]
    assert names == ["rto_s[payment kind=write]"]


def test_a_kind_no_service_has_measured_nothing_and_is_unknown():
    j = judge(history([op("login", "login", t) for t in ticks(20.0)]),
              experiment(Threshold("rto_s", "<=", 30, kind="write")), ["login"])
    unknown = [c for c in j.checks if c.name.startswith("rto_s")]
    assert len(unknown) == 1 and unknown[0].verdict == Verdict.UNKNOWN
    assert unknown[0].name == "rto_s[any service kind=write]"
    assert unknown[0].detail == "no service recorded kind=write requests"
    assert j.verdict == Verdict.UNKNOWN


def test_a_declared_operation_without_requests_is_measured_and_unknown():
    ops = [op("login", "login", t) for t in ticks(20.0)]
    j = judge(history(ops), experiment(Threshold("rto_s", "<=", 3, operation="signup")), ["login"],
              operations={"login": {"login": "read", "signup": "write"}})
    assert j.services["login"].operations["signup"].requests == 0
    assert check(j, "rto_s[login op=signup]").verdict == Verdict.UNKNOWN


def test_the_journal_holds_figures_per_operation_and_kind_and_the_summary_prints_them():
    j = judge(login_survives_writes_wait(), experiment(), ["login"], readback={"login": {}})
    journal = build_journal(experiment(), j, stack="dual-site", started_at="2023-11-14T22:13:20.000Z",
                            finished_at="2023-11-14T22:14:10.000Z", history=login_survives_writes_wait(),
                            run_id="r", environment={})
    journal = json.loads(json.dumps(journal))
    assert validate_journal_shape(journal) == []
    login = journal["services"]["login"]
    assert login["operations"]["login"]["kind"] == "read"
    assert login["operations"]["login"]["rto_s"] == pytest.approx(2.0)
    assert login["kinds"]["write"]["rto_s"] == pytest.approx(25.05)
    text = render_summary(journal, color=False)
    assert "per operation" in text
    row = next(line for line in text.splitlines() if line.split()[:3] == ["login", "login", "read"])
    assert "2.0" in row.split()
    # signup is login's only write: its kind's row would repeat it
    assert not any(line.split()[:3] == ["login", "(all", "writes)"] for line in text.splitlines())


def test_the_summary_shows_a_kind_of_several_operations():
    h = history([*login_survives_writes_wait().ops, *(op("login", "reset", t, write_id=f"r{t}") for t in ticks(50.0))],
                power_cut())
    j = judge(h, experiment(), ["login"], readback={"login": {}})
    journal = json.loads(json.dumps(build_journal(
        experiment(), j, stack="dual-site", started_at="2023-11-14T22:13:20.000Z",
        finished_at="2023-11-14T22:14:10.000Z", history=h, run_id="r", environment={})))
    rows = [line.split() for line in render_summary(journal, color=False).splitlines()]
    writes = next(r for r in rows if r[:3] == ["login", "(all", "writes)"])
    assert writes[3:5] == ["write", "1000"]


def test_the_summary_says_unknown_not_never_for_an_unmeasured_rto():
    ops = [op("login", "login", t) for t in ticks(50.0)]
    ops += [op("login", "signup", t, write_id=f"u{t}") for t in ticks(8.0)]
    h = history(ops, power_cut())
    j = judge(h, experiment(), ["login"], readback={"login": {}})
    journal = json.loads(json.dumps(build_journal(
        experiment(), j, stack="dual-site", started_at="2023-11-14T22:13:20.000Z",
        finished_at="2023-11-14T22:14:10.000Z", history=h, run_id="r", environment={})))
    row = next(line for line in render_summary(journal, color=False).splitlines()
               if line.split()[:2] == ["login", "signup"])
    assert "unknown" in row.split() and "never" not in row.split()


def test_a_damaged_part_of_a_journal_is_named():
    j = judge(login_survives_writes_wait(), experiment(), ["login"], readback={"login": {}})
    journal = json.loads(json.dumps(build_journal(
        experiment(), j, stack="dual-site", started_at="2023-11-14T22:13:20.000Z",
        finished_at="2023-11-14T22:14:10.000Z", history=login_survives_writes_wait(), run_id="r",
        environment={})))
    journal["services"]["login"]["operations"]["login"]["rto_s"] = "fast"
    assert validate_journal_shape(journal) == [
        "services.login.operations.login.rto_s: expected int or float or null, got str"]


# --- the stack's declaration ----------------------------------------------------------------------

def test_a_declared_read_that_carries_a_write_id_is_reported_not_counted_silently():
    ops = [op("login", "login", t) for t in ticks(10.0)] + [op("login", "login", 10.5, write_id="x")]
    ops += [op("payment", "refund", 11.0, write_id="r1")]
    j = judge(history(ops), experiment(), ["login", "payment"], readback={"login": {"x": 1}, "payment": {"r1": 1}},
              operations=DECLARED)
    result = check(j, "operations_as_declared")
    assert result.verdict == Verdict.UNKNOWN
    assert "login login: declared a read, but 1 of its requests carry a write_id" in result.detail
    assert "payment refund: 1 write requests of an operation the stack does not declare" in result.detail
    assert j.verdict == Verdict.UNKNOWN


def test_a_history_as_declared_passes_the_declaration_check():
    ops = [op("login", "login", t) for t in ticks(10.0)] + [op("payment", "pay", 1.0, write_id="p")]
    j = judge(history(ops), experiment(), ["login", "payment"], readback={"payment": {"p": 1}},
              operations=DECLARED)
    assert check(j, "operations_as_declared").verdict == Verdict.PASS
    assert j.verdict == Verdict.PASS


EXPERIMENT = """\
name: t
stack: dual-site
load: {users: 1, spawn_rate: 1, duration_s: 10}
checks:
  rto_s:
    - {max: 3, service: login, op: login}
    - {max: 3, service: login, op: logon}
    - {max: 30, op: transfer}
    - {max: 30, kind: write}
"""


def test_a_threshold_naming_an_undeclared_op_is_refused_with_its_line():
    e = load_experiment_text(EXPERIMENT, "e.yaml")
    problems = validate_targets(e, {"pangyo"}, {"login", "payment"}, operations=DECLARED)
    assert [(p.line, p.path) for p in problems] == [(7, "checks.rto_s[1].op"), (8, "checks.rto_s[2].op")]
    assert "unknown operation 'logon'; did you mean 'login'? known: login, signup" in problems[0].message
    assert "known: balance, login, pay, signup" in problems[1].message


def test_a_threshold_naming_an_op_of_a_stack_that_declares_none_is_refused():
    e = load_experiment_text(EXPERIMENT, "e.yaml")
    problems = validate_targets(e, {"pangyo"}, {"login", "payment"}, stack="s", operations={})
    assert len(problems) == 3
    assert "stack s declares no operations" in problems[0].message


@pytest.mark.parametrize("threshold, message", [
    ("{max: 3, kind: update}", "checks.rto_s.kind: 'update' is not one of read, write"),
    ("{max: 3, kind: read, op: login}", "expected op or kind, not both"),
    ("{max: 3, op: Login!}", "op:"),
])
def test_a_bad_op_or_kind_is_refused_with_its_line(threshold, message):
    text = f"name: t\nstack: s\nload: {{users: 1, spawn_rate: 1, duration_s: 10}}\nchecks:\n  rto_s: {threshold}\n"
    with pytest.raises(ExperimentInvalid) as error:
        load_experiment_text(text, "e.yaml")
    assert error.value.problems[0].line == 5
    assert message in str(error.value)


# --- read-your-writes -------------------------------------------------------------------------------

def rw_history(*reads: Op) -> History:
    writes = [op("messaging", "send", 1.0, write_id="m1", who="alice", latency=0.2),
              op("messaging", "send", 2.0, write_id="m2", who="alice", latency=0.2),
              op("messaging", "send", 3.0, "fail", write_id="m3", who="alice")]
    return history([*writes, *reads])


STALE = Threshold("stale_reads", "<=", 0)


def test_a_read_that_saw_its_clients_writes_passes():
    j = judge(rw_history(op("messaging", "read", 5.0, who="alice", expect=("m1", "m2"), saw=("m1", "m2"))),
              experiment(STALE), ["messaging"], readback={"messaging": {"m1": 1, "m2": 1}})
    result = check(j, "stale_reads[messaging]")
    assert result.verdict == Verdict.PASS and result.figure == 0
    assert "1 reads checked, 0 stale" in result.detail


def test_a_stale_read_fails_with_its_id_and_times():
    j = judge(rw_history(op("messaging", "read", 5.0, who="alice", expect=("m1", "m2"), saw=("m1",))),
              experiment(STALE), ["messaging"], readback={"messaging": {"m1": 1, "m2": 1}})
    result = check(j, "stale_reads[messaging]")
    assert result.verdict == Verdict.FAIL and result.figure == 1
    reason = next(r for r in j.reasons if r.startswith("messaging: "))
    assert "1 stale reads of 1 checked" in reason
    assert "alice read at 22:13:25.000 UTC missed m2 (acknowledged 22:13:22.200)" in reason


def test_only_writes_acknowledged_before_the_read_began_by_the_same_client_count():
    """m3 failed, m2 completes after the read starts, m1 is bob's: none of them is owed."""
    ops = [op("messaging", "send", 1.0, write_id="m1", who="bob"),
           op("messaging", "send", 2.0, write_id="m2", who="alice", latency=4.0),
           op("messaging", "send", 3.0, "fail", write_id="m3", who="alice"),
           op("messaging", "send", 0.5, write_id="m0", who="alice"),
           op("messaging", "read", 5.0, who="alice", expect=("m0", "m1", "m2", "m3"), saw=("m0",))]
    result = read_your_writes(ops, ops)
    assert (result.checked, len(result.stale), result.unbacked) == (1, 0, 3)


def test_uninspectable_and_unanswered_reads_are_counted_never_passed():
    reads = [op("messaging", "read", 5.0, who="alice", expect=("m1",), saw=None),
             op("messaging", "read", 6.0, "fail", who="alice", expect=("m1",))]
    j = judge(rw_history(*reads), experiment(STALE, Threshold("uninspected_reads", "<=", 0)), ["messaging"],
              readback={"messaging": {"m1": 1, "m2": 1}})
    result = check(j, "stale_reads[messaging]")
    assert result.verdict == Verdict.UNKNOWN and result.figure is None
    assert "1 did not answer, 1 answered but could not be inspected" in result.detail
    assert check(j, "uninspected_reads[messaging]").verdict == Verdict.FAIL
    assert j.verdict == Verdict.FAIL


def test_a_history_without_reads_that_expect_anything_makes_read_your_writes_unknown():
    j = judge(rw_history(op("messaging", "read", 5.0)), experiment(STALE), ["messaging"],
              readback={"messaging": {"m1": 1, "m2": 1}})
    result = next(c for c in j.checks if c.name.startswith("stale_reads"))
    assert result.verdict == Verdict.UNKNOWN
    assert result.detail == "no read that must reflect its client's own writes (expect) was recorded"
    assert j.verdict == Verdict.UNKNOWN


def test_read_your_writes_is_not_applied_to_a_service_that_records_no_such_read():
    reads = [op("messaging", "read", 5.0, who="alice", expect=("m1",), saw=("m1",)),
             op("payment", "balance", 5.0)]
    j = judge(rw_history(*reads), experiment(STALE), ["messaging", "payment"],
              readback={"messaging": {"m1": 1, "m2": 1}})
    assert [c.name for c in j.checks if c.name.startswith("stale_reads")] == ["stale_reads[messaging]"]
    assert j.verdict == Verdict.PASS


def test_stale_reads_per_operation_sees_the_writes_of_other_operations():
    j = judge(rw_history(op("messaging", "read", 5.0, who="alice", expect=("m2",), saw=())),
              experiment(Threshold("stale_reads", "<=", 0, operation="read")), ["messaging"],
              readback={"messaging": {"m1": 1, "m2": 1}})
    assert check(j, "stale_reads[messaging op=read]").verdict == Verdict.FAIL


def test_the_report_has_a_table_per_operation_per_service_and_per_op_rtos_under_each_timeline(tmp_path):
    from chaos.reports.html import render_html
    from run_folder import make_run

    run = make_run(tmp_path, outage_s={"login": 2.0, "messaging": 3.0, "payment": None})
    page = render_html(run).read_text()
    section = page[page.index('<section id="operations">'):]
    section = section[:section.index("</section>")]
    for service in ("login", "messaging", "payment"):
        assert f'<div class="operations" data-service="{service}">' in section
    payment = section[section.index('data-service="payment"'):]
    assert "<td>read</td><td>read</td>" in payment and ">not during the fault<" in payment
    assert "RTO per operation: read 2.1 s, write 2.0 s" in page
    assert "RTO per operation: read not during the fault, write not during the fault" in page
    for service in ("login", "messaging", "payment"):  # each has reads and writes: a line for each
        assert f'id="ok-reads-{service}"' in page and f'id="ok-writes-{service}"' in page


def test_analyze_judges_against_the_operations_meta_json_keeps(tmp_path):
    from chaos.analyze import judge_run
    from run_folder import make_run

    run = make_run(tmp_path, judge=False)
    meta = json.loads((run / "meta.json").read_text())
    meta["operations"] = {s: {"read": "read", "write": "write"} for s in ("login", "messaging", "payment")}
    (run / "meta.json").write_text(json.dumps(meta))
    journal = judge_run(run, write=False)
    assert next(c for c in journal["checks"] if c["name"] == "operations_as_declared")["verdict"] == "pass"
    meta["operations"]["login"] = {"read": "write", "write": "write"}  # its reads carry no write_id
    (run / "meta.json").write_text(json.dumps(meta))
    journal = judge_run(run, write=False)
    check = next(c for c in journal["checks"] if c["name"] == "operations_as_declared")
    assert check["verdict"] == "unknown"
    assert "login read: declared a write, but 150 of its requests carry no write_id" in check["detail"]
    assert journal["verdict"] == "unknown"


def test_a_damaged_operations_in_meta_json_is_invalid_input(tmp_path):
    from chaos.analyze import judge_run
    from chaos.errors import InvalidInput
    from run_folder import make_run

    run = make_run(tmp_path, judge=False)
    meta = json.loads((run / "meta.json").read_text())
    meta["operations"] = {"login": {"login": "update"}, "payment": []}
    (run / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(InvalidInput) as error:
        judge_run(run, write=False)
    assert "operations.login.login: expected one of read, write, got 'update'" in str(error.value)
    assert "operations.payment: expected an object, got" in str(error.value)


def test_the_nightly_index_says_unknown_for_an_unmeasured_rto_and_never_beats_it():
    from chaos.reports.index import _worst_rto

    fault = [{"id": "f0"}]
    measured = {"rto_s": 3.0, "missing": {}}
    unmeasured = {"rto_s": None, "missing": {"rto_s": "no requests inside the outage window of f0"}}
    never = {"rto_s": None, "missing": {}}
    assert _worst_rto({"faults": fault, "services": {"a": measured, "b": unmeasured}}) == "unknown"
    assert _worst_rto({"faults": fault, "services": {"a": never, "b": unmeasured}}) == "never"
    assert _worst_rto({"faults": fault, "services": {"a": measured}}) == "3.0"


def test_read_your_writes_of_one_run_never_uses_another_runs_writes():
    """The checker's memo is per run: the same reads judged against a run where the write was
    acknowledged, then one where it was not, then the first again."""
    read = op("messaging", "read", 5.0, who="alice", expect=("m1",), saw=())
    acked = history([op("messaging", "send", 1.0, write_id="m1", who="alice"), read])
    failed = history([op("messaging", "send", 1.0, "fail", write_id="m1", who="alice"), read])
    verdicts = [check(judge(h, experiment(STALE), ["messaging"], readback={"messaging": {"m1": 1}}),
                      "stale_reads[messaging]").verdict for h in (acked, failed, acked)]
    assert verdicts == [Verdict.FAIL, Verdict.UNKNOWN, Verdict.FAIL]
