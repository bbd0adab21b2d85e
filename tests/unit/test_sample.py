"""The sample run folder that ships in the repo (samples/, README's first experiment without Docker):
analyze re-judges it to the verdict it was shipped with, and report renders it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from chaos import cli
from chaos.analyze import judge_run
from chaos.reports import read_journal

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "pangyo-power-cut-dual-site"


@pytest.fixture
def sample(tmp_path) -> Path:
    copy = tmp_path / SAMPLE.name
    shutil.copytree(SAMPLE, copy)
    return copy


def test_the_sample_is_small():
    size = sum(p.stat().st_size for p in SAMPLE.rglob("*") if p.is_file())
    assert size < 400_000, size


def test_analyze_re_judges_the_sample_as_shipped(sample):
    shipped = read_journal(sample)
    journal = judge_run(sample, write=False)
    assert journal["verdict"] == shipped["verdict"] == "pass"
    assert journal["matches_expectation"]
    for name, service in journal["services"].items():
        for key in ("requests", "rto_s", "acked_writes", "lost_writes", "unknown_writes", "recovered_writes"):
            assert service[key] == shipped["services"][name][key], (name, key)
    assert [c["verdict"] for c in journal["checks"]] == ["pass"] * len(journal["checks"])
    assert sum(s["acked_writes"] for s in journal["services"].values()) == 528
    assert [round(s["rto_s"], 1) for s in journal["services"].values()] == [23.3, 23.0, 23.3]


def test_analyze_and_report_commands_on_the_sample(sample, capsys):
    assert cli.main(["analyze", str(sample)]) == 0
    out = capsys.readouterr().out
    assert "PASS: pangyo dark 15.0-46.9 s; services back after 23.0-23.3 s (limit 30 s)" in out
    assert "VERDICT: PASS (expected pass)" in out
    assert cli.main(["report", str(sample)]) == 0
    page = (sample / "report.html").read_text()
    assert '<p class="story">pangyo dark 15.0-46.9 s' in page
    assert (sample / "junit.xml").is_file()
