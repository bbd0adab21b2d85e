"""docs/experiments.md is generated from the declarations that validate (chaos/reference.py) and is
kept current: this test fails while the checked-in file differs from what the generator makes now.
And ``plan`` shows a fault's parameters as YAML with their units."""

from __future__ import annotations

from pathlib import Path

from test_cli import cli

from chaos.checks.metrics import METRICS
from chaos.faults import REGISTRY
from chaos.faults.params import FaultDecl, Param
from chaos.reference import REGENERATE, param_lines, reference_text, unit_of

ROOT = Path(__file__).resolve().parents[2]
CHECKED_IN = ROOT / "docs" / "experiments.md"


def test_the_checked_in_reference_is_current():
    made = reference_text(ROOT / "stacks")
    assert CHECKED_IN.read_text() == made, (
        f"docs/experiments.md differs from what the declarations make now; regenerate it: {REGENERATE}")


def test_the_reference_names_every_fault_parameter_with_its_unit_and_every_metric():
    text = reference_text(ROOT / "stacks")
    for decl in REGISTRY.values():
        assert f"### `{decl.type}`\n\n{decl.doc}\n" in text
        for p in decl.params:
            row = next(line for line in text.split(f"### `{decl.type}`")[1].splitlines()
                       if line.startswith(f"| `{p.name}` |"))
            assert f"| {unit_of(p) or '-'} |" in row, row
    for metric in METRICS.values():
        assert f"| `{metric.name}` | {metric.unit} |" in text
    assert "| `dual-site` | pangyo, chuncheon, witness | login, messaging, payment | `signup_friend`" in text


def test_a_changed_declaration_changes_the_reference(monkeypatch):
    before = reference_text(ROOT / "stacks")
    decl = REGISTRY["pause"]
    monkeypatch.setitem(REGISTRY, "pause", FaultDecl(**{**decl.__dict__, "doc": "Frozen, differently."}))
    after = reference_text(ROOT / "stacks")
    assert after != before and "Frozen, differently." in after


def test_the_blast_radius_users_get_wrong_is_in_the_declarations():
    assert "stay down until the load ends" in REGISTRY["kill"].doc
    assert "{service: orders} freezes that service at every site" in REGISTRY["pause"].doc
    assert "round trip gains twice latency_ms" in REGISTRY["latency"].doc


def test_units_come_from_the_parameter_names():
    assert [unit_of(Param(n, k)) for n, k in (("latency_ms", "int"), ("duration_s", "duration"),
                                               ("rate_kbps", "int"), ("grace_s", "int"), ("share", "number"),
                                               ("power_returns_after_s", "duration"))] == [
        "ms", "s", "kbit/s", "s", "", "s"]


def test_param_lines_are_yaml_with_units_in_declaration_order():
    lines = param_lines(REGISTRY["latency"], {"direction": "both", "duration_s": 20.0, "latency_ms": 50,
                                              "jitter_ms": 0})
    assert lines == ["latency_ms: 50    # ms", "jitter_ms: 0      # ms", "duration_s: 20    # s", "direction: both"]
    assert param_lines(REGISTRY["power_cut"], {"power_returns_after_s": None}) == [
        "power_returns_after_s: null   # s; null: healed when the load ends"]


def test_reference_verb_prints_the_same_and_writes_with_out(tmp_path):
    p = cli("reference")
    assert p.returncode == 0, p.stderr
    assert p.stdout == CHECKED_IN.read_text()
    out = tmp_path / "ref.md"
    p = cli("reference", "--out", str(out))
    assert p.returncode == 0 and out.read_text() == CHECKED_IN.read_text()
