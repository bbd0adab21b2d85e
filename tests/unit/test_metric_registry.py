"""One metric registry (``chaos.checks.metrics``): what ``judge`` can evaluate is what ``validate``
accepts, and a metric registered here, in a test module, appears in ``validate``, ``schema``, the
journal, the summary and the HTML report without touching any other file."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml
from run_folder import ROOT, SERVICES, make_run

from chaos import cli
from chaos.checks import METRICS, Metric, Verdict, register
from chaos.checks.judge import judge
from chaos.checks.metrics import MAX_MS
from chaos.errors import EXIT_INVALID_INPUT
from chaos.experiment import Experiment, Load, Threshold
from chaos.history import History, Mark, Op
from chaos.loader import load_experiment_text
from chaos.reports import read_journal, render_html, render_summary, validate_journal_shape

VALID = (ROOT / "experiments" / "pangyo-power-cut.yaml").read_text()
LAST_CHECK = "  acked_writes: {min: 100}\n"


def with_checks(*lines: str) -> str:
    """The shipped experiment with more threshold lines under ``checks:``."""
    assert LAST_CHECK in VALID
    return VALID.replace(LAST_CHECK, LAST_CHECK + "".join(f"  {line}\n" for line in lines))


@pytest.mark.parametrize("metric", ["latency_p99_ms", "availability_fault", "recovered_writes"])
def test_validate_accepts_the_metrics_judge_evaluates(metric, tmp_path, capsys):
    """They drifted apart: judge computed 17 metrics, validate accepted 6."""
    experiment = tmp_path / "e.yaml"
    experiment.write_text(with_checks(f"{metric}: {{max: 1}}"))
    assert cli.main(["validate", str(experiment)]) == 0, capsys.readouterr().err


def test_every_metric_judge_evaluates_is_accepted_by_the_loader():
    document = yaml.safe_load(VALID)
    document["checks"] = {m: {"min": 0} for m in METRICS}
    experiment = load_experiment_text(yaml.safe_dump(document), "e.yaml")
    assert {t.metric for t in experiment.checks} == set(METRICS)
    # What judge evaluated before the registry, every one still there.
    assert set(METRICS) >= {"requests", "ok", "failed", "unknown", "availability", "availability_steady",
                            "availability_fault", "availability_after_heal", "latency_p50_ms", "latency_p95_ms",
                            "latency_p99_ms", "rto_s", "acked_writes", "unknown_writes", "lost_writes",
                            "recovered_writes", "duplicate_writes"}


# --- adding a metric is one entry --------------------------------------------------------------

def slowest_ms(figures) -> float | None:
    """A figure none of the built-in measurements makes: read from the service's own ops."""
    return max((round(o.latency * 1000, 3) for o in figures.ops if o.ok), default=None)


@pytest.fixture
def slowest():
    """One new metric, registered by this test module alone; gone again after the test."""
    metric = register(Metric("slowest_ms", unit="ms", kind="number", max=MAX_MS, compute=slowest_ms,
                             doc="The slowest ok request, in milliseconds.", why_none="no ok requests"))
    yield metric
    del METRICS[metric.name]


def test_a_registered_metric_is_accepted_by_validate(slowest, tmp_path, capsys):
    experiment = tmp_path / "e.yaml"
    experiment.write_text(with_checks("slowest_ms: {max: 250}"))
    assert cli.main(["validate", str(experiment)]) == 0, capsys.readouterr().err
    thresholds = load_experiment_text(experiment.read_text(), "e.yaml").checks
    assert Threshold("slowest_ms", "<=", 250.0) in thresholds


def test_a_registered_metric_has_its_bounds_and_a_did_you_mean(slowest, tmp_path, capsys):
    experiment = tmp_path / "e.yaml"
    experiment.write_text(with_checks("slowest_ms: {max: -1}", "slowest_m: {max: 1}"))
    assert cli.main(["validate", str(experiment)]) == EXIT_INVALID_INPUT
    err = capsys.readouterr().err
    assert "checks.slowest_ms.max: must be >= 0, got -1" in err, err
    assert "unknown metric 'slowest_m'; did you mean 'slowest_ms'?" in err, err


def test_a_registered_metric_is_in_the_schema(slowest, capsys):
    assert cli.main(["schema"]) == 0
    checks = json.loads(capsys.readouterr().out)["properties"]["checks"]["properties"]
    assert checks["slowest_ms"]["description"] == "The slowest ok request, in milliseconds."
    threshold = checks["slowest_ms"]["oneOf"][0]["properties"]["max"]
    assert (threshold["minimum"], threshold["maximum"]) == (0, MAX_MS)


def test_a_registered_metric_is_judged_and_in_the_journal_the_summary_and_the_report(slowest, tmp_path):
    # make_run writes the run folder and judges it as `analyze` does: the loader reads the
    # experiment, judge measures, the journal is written and read back (its shape checked).
    run_dir = make_run(tmp_path, edit={LAST_CHECK: LAST_CHECK + "  slowest_ms: {max: 10}\n"})
    journal = read_journal(run_dir)
    assert validate_journal_shape(journal) == []
    for service in SERVICES:
        assert journal["services"][service]["slowest_ms"] == 14.0  # latencies go up to 14 ms
    check = next(c for c in journal["checks"] if c["name"] == "slowest_ms[login]")
    assert (check["verdict"], check["figure"], check["threshold"]) == ("fail", 14.0, "slowest_ms <= 10")
    assert "login: slowest_ms = 14, expected slowest_ms <= 10" in journal["reasons"]

    summary = render_summary(journal, color=False)
    rows = {line.split()[0]: line.split() for line in summary.splitlines() if line.startswith("  ")}
    assert rows["service"][-1] == "slowest_ms" and rows["login"][-1] == "14", summary

    page = render_html(run_dir).read_text(encoding="utf-8")
    outcomes = page[page.index('<section id="outcomes">'):page.index('<section id="latency">')]
    assert "<th>slowest_ms</th>" in outcomes
    assert '<td class="num">14</td>' in outcomes
    assert "slowest_ms[login]" in page  # in the checks too


def test_a_metric_without_a_figure_is_unknown_with_its_reason(slowest):
    ops = tuple(Op("api", "get", "fail", 1.0 + i, float(i), 0.01) for i in range(5))
    history = History(ops, (), (Mark("load_started", 1.0, 0.0), Mark("load_stopped", 6.0, 5.0)))
    experiment = Experiment(name="e", description="", stack="s", load=Load(users=1, spawn_rate=1.0, duration_s=5.0),
                            faults=(), checks=(Threshold("slowest_ms", "<=", 10),))
    check = next(c for c in judge(history, experiment, ["api"]).checks if c.name == "slowest_ms[api]")
    assert (check.verdict, check.detail) == (Verdict.UNKNOWN, "no ok requests")


def test_a_journal_written_before_a_metric_was_added_still_reads_and_renders(tmp_path):
    run_dir = make_run(tmp_path)
    metric = register(Metric("slowest_ms", unit="ms", kind="number", max=MAX_MS, compute=slowest_ms, doc="x"))
    try:
        journal = read_journal(run_dir)  # no slowest_ms key: still a valid journal/1
        assert "slowest_ms" not in journal["services"]["login"]
        assert "slowest_ms" not in render_summary(journal, color=False)
        assert "<th>slowest_ms</th>" not in render_html(run_dir).read_text(encoding="utf-8")
        journal["services"]["login"]["slowest_ms"] = "fast"
        assert validate_journal_shape(journal) == ["services.login.slowest_ms: expected int or float or null, got str"]
    finally:
        del METRICS[metric.name]


@pytest.mark.parametrize("change, problem", [
    (dict(name="rto_s"), "the name is taken"),
    (dict(name="lost_ids"), "the name is taken"),
    (dict(name="Slow ms"), "a name is lowercase"),
    (dict(max=None), "a number needs an upper bound"),
    (dict(kind="str"), "kind is one of int, number, duration"),
    (dict(journal="somewhere"), "journal is one of"),
])
def test_register_refuses_a_malformed_metric(change, problem):
    fields = dict(name="slowest_ms", unit="ms", kind="number", max=MAX_MS, compute=slowest_ms, doc="x") | change
    with pytest.raises(ValueError, match=problem):
        register(Metric(**fields))
    assert "slowest_ms" not in METRICS


def test_the_registry_imports_nothing_above_the_checks():
    """checks/ sits below the loader and the reports, and knows neither Docker nor HTTP."""
    code = ("import sys, chaos.checks.metrics; print(' '.join(sorted(m for m in sys.modules "
            "if m.split('.')[0] in ('chaos', 'docker', 'requests', 'yaml'))))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert [m for m in loaded if not m.startswith(("chaos.checks", "chaos.experiment", "chaos.history",
                                                   "chaos.errors", "chaos.files", "chaos.run_folder",
                                                   "chaos.clock")) and m != "chaos"] == []
