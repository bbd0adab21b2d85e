"""One metric registry (``chaos.checks.metrics``): what ``judge`` can evaluate is what ``validate``
accepts."""

from __future__ import annotations

import pytest
import yaml
from run_folder import ROOT

from chaos import cli
from chaos.checks import METRICS
from chaos.loader import load_experiment_text

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

