"""The journal contract (exact keys, shape validation, atomic write) and the terminal summary."""

from __future__ import annotations

import json

import pytest

from chaos.checks.judge import judge
from chaos.errors import InvalidInput
from chaos.experiment import Experiment, Load, Threshold
from chaos.history import FaultStep, History, Mark, Op
from chaos.reports import (build_journal, iso_utc, read_journal, render_summary,
                           validate_journal_shape, write_journal)

T0 = 1_700_000_000.0  # wall time of mono 0
SERVICE_KEYS = ["requests", "ok", "failed", "unknown", "availability", "rto_s", "acked_writes",
                "lost_writes", "unknown_writes", "recovered_writes", "duplicate_writes", "lost_ids",
                "latency_ms", "availability_by_phase",
                # added since journal/1: metrics of the registry, then why a figure is missing and the
                # figures per operation and per kind
                "outage_began_s", "back_s", "stale_reads", "uninspected_reads", "missing", "operations", "kinds"]


def run_history() -> History:
    """login recovers 7 s after the fault; payment never does; messaging loses one write."""
    ops = []
    for i in range(400):
        t = round(i * 0.1, 6)
        ops.append(Op("login", "login", "fail" if 15.0 <= t < 22.0 else "ok", T0 + t, t, 0.02))
        ops.append(Op("payment", "transfer", "fail" if t >= 15.0 else "ok", T0 + t, t, 0.03))
    ops += [Op("messaging", "send", "ok", T0 + 1.0, 1.0, 0.01, write_id=w) for w in ("m1", "m2")]
    base = dict(id="f0", type="power_cut", target="site=pangyo")
    faults = (FaultStep(step="invoked", wall=T0 + 15.0, mono=15.0, **base),
              FaultStep(step="done", wall=T0 + 15.0, mono=15.0, **base),
              FaultStep(step="healed", wall=T0 + 30.0, mono=30.0, **base))
    marks = (Mark("load_started", T0, 0.0), Mark("load_stopped", T0 + 40.0, 40.0))
    return History(tuple(sorted(ops, key=lambda o: o.mono)), faults, marks)


EXPERIMENT = Experiment(name="site-loss", description="burn pangyo", stack="dual-site",
                        load=Load(users=10, spawn_rate=5.0, duration_s=40.0), faults=(),
                        checks=(Threshold("rto_s", "<=", 10), Threshold("lost_writes", "==", 0)),
                        tags=("nightly",), source="experiments/site-loss.yaml")


@pytest.fixture
def journal() -> dict:
    h = run_history()
    j = judge(h, EXPERIMENT, ["login", "messaging", "payment"], {"messaging": {"m1": 1, "m2": 0}})
    return build_journal(EXPERIMENT, j, stack="dual-site", started_at=iso_utc(T0),
                         finished_at=iso_utc(T0 + 70.0), history=h, run_id="r1",
                         environment={"docker": "20.10"})


def test_journal_has_exactly_the_contract_keys(journal):
    assert list(journal) == ["schema", "run_id", "verdict", "expected", "matches_expectation",
                             "experiment", "stack", "started_at", "finished_at", "faults",
                             "services", "checks", "reasons", "environment"]
    assert journal["schema"] == "chaos-harness/journal/1"
    assert list(journal["experiment"]) == ["name", "description", "file", "tags", "load"]
    assert journal["experiment"]["file"] == "experiments/site-loss.yaml"
    assert journal["experiment"]["tags"] == ["nightly"]
    assert journal["faults"] == [{"id": "f0", "type": "power_cut", "target": "site=pangyo",
                                  "injected_at": "2023-11-14T22:13:35.000Z",
                                  "healed_at": "2023-11-14T22:13:50.000Z", "heal_ok": True}]
    assert list(journal["services"]) == ["login", "messaging", "payment"]
    for service in journal["services"].values():
        assert list(service) == SERVICE_KEYS
    for c in journal["checks"]:
        assert list(c) == ["name", "verdict", "figure", "threshold", "service", "detail"]


def test_journal_figures_and_verdict(journal):
    assert journal["verdict"] == "fail"
    assert journal["expected"] == "pass" and journal["matches_expectation"] is False
    assert journal["services"]["login"]["rto_s"] == pytest.approx(7.0)
    assert journal["services"]["payment"]["rto_s"] is None
    assert journal["services"]["messaging"]["lost_ids"] == ["m2"]
    assert any("never recovered" in r for r in journal["reasons"])
    assert "messaging: 1 acknowledged write lost (ids: m2)" in journal["reasons"]


def test_built_journal_passes_shape_validation(journal):
    assert validate_journal_shape(journal) == []
    assert validate_journal_shape(json.loads(json.dumps(journal))) == []


def test_shape_validation_names_what_is_wrong(journal):
    del journal["run_id"]
    journal["verdict"] = "maybe"
    journal["services"]["login"]["rto_s"] = "7"
    journal["services"]["login"]["requests"] = True
    del journal["checks"][0]["detail"]
    journal["faults"][0]["heal_ok"] = "yes"
    problems = validate_journal_shape(journal)
    assert "run_id: missing" in problems
    assert any(p.startswith("verdict: expected one of") for p in problems)
    assert "services.login.rto_s: expected int or float or null, got str" in problems
    assert "services.login.requests: expected int or float or null, got bool" in problems
    assert "checks[0].detail: missing" in problems
    assert "faults[0].heal_ok: expected bool, got str" in problems
    assert validate_journal_shape([]) == ["journal: expected object, got list"]


def test_write_and_read_journal(tmp_path, journal):
    path = write_journal(tmp_path / "run", journal)
    assert path == tmp_path / "run" / "journal.json"
    assert [p.name for p in path.parent.iterdir()] == ["journal.json"]  # no temp file left
    assert read_journal(path) == journal
    assert read_journal(path.parent) == journal
    assert path.read_text().startswith("{\n  ")


def test_read_journal_rejects_bad_files(tmp_path):
    with pytest.raises(InvalidInput, match="no journal"):
        read_journal(tmp_path)
    (tmp_path / "journal.json").write_text("{torn")
    with pytest.raises(InvalidInput, match="journal.json:1:2: not JSON"):
        read_journal(tmp_path)
    (tmp_path / "journal.json").write_text("[]")
    with pytest.raises(InvalidInput, match="journal.json:1: journal: expected object, got list"):
        read_journal(tmp_path)


def test_summary_without_color(journal):
    text = render_summary(journal, color=False)
    assert "\x1b[" not in text
    assert text.splitlines()[-1] == "VERDICT: FAIL (expected pass)"
    payment = next(line for line in text.splitlines() if line.strip().startswith("payment"))
    assert "never" in payment
    assert "injected +15.0 s, healed +30.0 s" in text
    assert "rto_s[login]" in text and "vs rto_s <= 10" in text
    assert "never recovered within the 15.0 s outage window" in text


def test_summary_with_color(journal):
    text = render_summary(journal, color=True)
    assert "\x1b[31;1mVERDICT: FAIL (expected pass)\x1b[0m" in text
