"""The nightly suite without Docker: a fake run_experiment (the runner's interface) returns
synthetic judged runs; the suite's order, stack switching, exit code, index.html and junit.xml."""

from __future__ import annotations

import re
import signal
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from run_folder import EXPECT_LINE, EXPERIMENT, ROOT, make_run

import chaos.nightly as nightly
from chaos.cli import main
from chaos.errors import EnvironmentProblem, ExperimentInvalid, InvalidInput
from chaos.loader import load_experiment
from chaos.reports import read_journal
from chaos.errors import Interrupted

NEVER = {"login": 3.0, "messaging": 3.0, "payment": None}


def _experiment(folder: Path, name: str, stack: str, expect: str, tags: str) -> Path:
    text = EXPERIMENT.read_text()
    for old, new in (("name: pangyo-power-cut", f"name: {name}"), ("stack: dual-site", f"stack: {stack}"),
                     (EXPECT_LINE, f"expect: {expect}"), ("tags: [nightly, site, demo]", f"tags: {tags}")):
        assert old in text
        text = text.replace(old, new)
    path = folder / f"{name}.yaml"
    path.write_text(text)
    return path


@pytest.fixture
def experiments(tmp_path) -> Path:
    """a-single: single-site, expect fail; b-dual: dual-site, expect pass; c-other: not nightly."""
    folder = tmp_path / "experiments"
    folder.mkdir()
    _experiment(folder, "a-single", "single-site", "fail", "[nightly, site]")
    _experiment(folder, "b-dual", "dual-site", "pass", "[nightly]")
    _experiment(folder, "c-other", "dual-site", "pass", "[site]")
    return folder


class FakeRunner:
    """Stands in for chaos.runner.run_experiment: writes and judges a synthetic run folder under
    ``opts.runs_dir`` (as the runner does, with a report.html), per experiment name an outage; on
    ``opts.stack`` when given, with the expectation for that stack."""

    def __init__(self, outages: dict | None = None, fail_on: dict | None = None):
        self.outages = outages or {"a-single": NEVER}
        self.fail_on = fail_on or {}  # experiment name -> exception to raise
        self.calls: list[tuple[str, Path]] = []
        self.stacks: list[tuple[str, str | None]] = []  # (experiment, opts.stack) of each call
        self.room: list[str] = []  # opts.stack of each call that asks the runner to make room for it

    def __call__(self, path, opts):
        e = load_experiment(path)
        if opts.stack:
            e = e.with_stack(opts.stack)
        self.calls.append((e.name, Path(opts.runs_dir)))
        self.stacks.append((e.name, opts.stack))
        if opts.make_room:
            self.room.append(opts.stack)
        if e.name in self.fail_on:
            raise self.fail_on[e.name]
        run_dir = make_run(opts.runs_dir, f"run-{e.name}-{e.stack}", stack=e.stack,
                           outage_s=self.outages.get((e.name, e.stack), self.outages.get(e.name)),
                           duration_s=60.0, step_s=0.25,
                           edit={"name: pangyo-power-cut": f"name: {e.name}", EXPECT_LINE: f"expect: {e.expect}"})
        (run_dir / "report.html").write_text("<!DOCTYPE html><p>report</p>")
        journal = read_journal(run_dir)
        return journal, 0 if journal["verdict"] == journal["expected"] else 1


@pytest.fixture
def fake(monkeypatch):
    runner = FakeRunner()
    monkeypatch.setattr(nightly, "run_experiment", runner)
    return runner


def test_runs_every_tagged_experiment_grouped_by_stack(tmp_path, experiments, fake, capsys):
    out = tmp_path / "nightly"
    result = nightly.run_nightly(out, experiments_dir=experiments)
    assert [name for name, _ in fake.calls] == ["b-dual", "a-single"]  # dual-site first, c-other untagged
    assert {runs for _, runs in fake.calls} == {out / "runs"}
    assert fake.room == ["dual-site", "single-site"]
    assert [(j["verdict"], j["expected"]) for j in result.journals] == [("pass", "pass"), ("fail", "fail")]
    assert result.exit_code == 0
    assert result.index == out / "index.html" and result.junit == out / "junit.xml"


def test_index_links_each_report_and_is_self_contained(tmp_path, experiments, fake):
    out = tmp_path / "nightly"
    nightly.run_nightly(out, experiments_dir=experiments)
    page = (out / "index.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page and "<link" not in page
    hrefs = re.findall(r'href="([^"]+)"', page)
    assert hrefs == ["junit.xml", "runs/run-b-dual-dual-site/report.html",
                     "runs/run-a-single-single-site/report.html"]
    for href in hrefs:
        assert (out / href).is_file()
    assert "2 of 2 runs as expected" in page
    rows = re.findall(r"<tr><td>(.*?)</tr>", page)
    assert len(rows) == 2
    assert "b-dual</td><td>dual-site" in rows[0] and ">yes<" in rows[0]
    assert "a-single</td><td>single-site" in rows[1] and ">FAIL<" in rows[1] and ">never<" in rows[1]


def test_junit_has_every_run_and_an_expected_failure_stays_green(tmp_path, experiments, fake):
    out = tmp_path / "nightly"
    nightly.run_nightly(out, experiments_dir=experiments)
    root = ET.parse(out / "junit.xml").getroot()
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["b-dual on dual-site", "a-single on single-site"]
    assert (root.get("failures"), root.get("errors")) == ("0", "0")
    assert suites[1].get("skipped") == "3"  # payment's RTO, its reads' and its writes'


def test_a_verdict_against_expectation_exits_1(tmp_path, experiments, fake):
    fake.outages["b-dual"] = NEVER
    result = nightly.run_nightly(tmp_path / "nightly", experiments_dir=experiments)
    assert result.exit_code == 1
    assert "1 of 2 runs as expected" in result.index.read_text()


def test_a_run_that_cannot_be_carried_out_is_recorded_and_the_suite_goes_on(tmp_path, experiments, fake):
    fake.fail_on["b-dual"] = EnvironmentProblem("images missing: app; run `make images`")
    result = nightly.run_nightly(tmp_path / "nightly", experiments_dir=experiments)
    assert [name for name, _ in fake.calls] == ["b-dual", "a-single"]
    assert result.exit_code == 3
    failed = result.journals[0]
    assert failed["verdict"] == "unknown" and failed["run_id"] == ""
    assert failed["reasons"] == ["the run could not be carried out: EnvironmentProblem: images missing: "
                                 "app; run `make images`"]
    case = ET.parse(result.junit).getroot().find("testsuite/testcase[@name='run_completed']")
    assert "images missing" in case.find("error").get("message")
    page = result.index.read_text()
    assert page.count("report</a>") == 1  # no report for the run that did not happen


def test_an_interruption_stops_the_suite_after_writing_what_finished(tmp_path, experiments, fake):
    fake.fail_on["a-single"] = Interrupted(signal.SIGINT)
    out = tmp_path / "nightly"
    with pytest.raises(Interrupted):
        nightly.run_nightly(out, experiments_dir=experiments)
    suites = ET.parse(out / "junit.xml").getroot().findall("testsuite")
    assert [s.get("name") for s in suites] == ["b-dual on dual-site"]
    assert "1 of 1 runs as expected" in (out / "index.html").read_text()


def test_an_interruption_passes_every_except_exception_and_the_cli_exits_130(tmp_path, experiments, fake,
                                                                               capsys):
    # raised from a signal handler inside a library's ``except Exception`` block, it must go through
    try:
        try:
            raise Interrupted(signal.SIGINT)
        except Exception:  # noqa: BLE001 - what a library's best-effort block looks like
            pytest.fail("Interrupted was swallowed by except Exception")
    except Interrupted as e:
        assert e.exit_code == 130 and str(e) == "interrupted by SIGINT"
    assert Interrupted(signal.SIGTERM).exit_code == 143
    fake.fail_on["a-single"] = Interrupted(signal.SIGTERM)
    code = main(["nightly", "--out", str(tmp_path / "nightly"), "--experiments", str(experiments)])
    assert code == 143
    assert "chaos-harness: interrupted by SIGTERM" in capsys.readouterr().err


def test_no_tagged_experiment_is_invalid_input(tmp_path, experiments, fake):
    with pytest.raises(InvalidInput, match="tagged 'weekly'"):
        nightly.run_nightly(tmp_path / "nightly", tag="weekly", experiments_dir=experiments)
    assert fake.calls == []


def test_an_invalid_tagged_experiment_stops_the_suite_before_any_run(tmp_path, experiments, fake):
    bad = experiments / "z-bad.yaml"
    bad.write_text((experiments / "b-dual.yaml").read_text().replace("site: pangyo", "site: pangyoo"))
    with pytest.raises(ExperimentInvalid, match="pangyoo"):
        nightly.run_nightly(tmp_path / "nightly", experiments_dir=experiments)
    assert fake.calls == []


def test_default_out_is_a_dated_folder_under_runs():
    assert nightly.default_out(1_764_000_000.0) == Path("runs/nightly-20251124T160000Z")


def test_cli_nightly_prints_each_run_and_exits_with_the_result(tmp_path, experiments, fake, capsys):
    out = tmp_path / "nightly"
    code = main(["nightly", "--out", str(out), "--experiments", str(experiments)])
    text = capsys.readouterr().out
    assert code == 0
    assert "  PASS    b-dual on dual-site (as expected)" in text
    assert "  FAIL    a-single on single-site (as expected)" in text
    assert f"index: {out / 'index.html'}" in text and f"junit: {out / 'junit.xml'}" in text


# An experiment whose expect is a mapping runs once per stack it names.


def test_planning_expands_an_expect_mapping_into_one_run_per_stack(tmp_path):
    path = tmp_path / "pangyo-power-cut.yaml"
    path.write_text(EXPERIMENT.read_text())
    planned = nightly.plan_runs(path, load_experiment(path))
    assert [(p.path, p.stack, p.experiment.stack, p.experiment.expect) for p in planned] == [
        (path, "dual-site", "dual-site", "pass"), (path, "single-site", "single-site", "fail"),
        (path, "dual-site-no-local-reads", "dual-site-no-local-reads", "fail"),
        (path, "dual-site-engines", "dual-site-engines", "pass")]
    assert {p.experiment.name for p in planned} == {"pangyo-power-cut"}


def test_planning_a_scalar_expect_keeps_one_run_on_its_own_stack(experiments):
    path = experiments / "a-single.yaml"
    (p,) = nightly.plan_runs(path, load_experiment(path))
    assert (p.path, p.stack, p.experiment.stack, p.experiment.expect) == (path, "single-site", "single-site", "fail")


def test_the_shipped_nightly_runs_the_power_cut_on_its_four_stacks_grouped_by_stack():
    planned = nightly.select_experiments(ROOT / "experiments", "nightly")
    power_cut = [(p.stack, p.experiment.expect) for p in planned if p.path.name == "pangyo-power-cut.yaml"]
    assert power_cut == [("dual-site", "pass"), ("dual-site-engines", "pass"), ("dual-site-no-local-reads", "fail"),
                         ("single-site", "fail")]
    stacks = [p.stack for p in planned]
    assert stacks == sorted(stacks)  # grouped: each stack comes up once


@pytest.fixture
def with_mapping(experiments) -> Path:
    """d-both: expect {dual-site: pass, single-site: fail}, tagged nightly, beside a-single and b-dual."""
    _experiment(experiments, "d-both", "dual-site", "{dual-site: pass, single-site: fail}", "[nightly]")
    return experiments


def test_a_mapping_runs_once_per_stack_with_that_stacks_expectation(tmp_path, with_mapping, fake):
    fake.outages[("d-both", "single-site")] = NEVER
    result = nightly.run_nightly(tmp_path / "nightly", experiments_dir=with_mapping)
    assert fake.stacks == [("b-dual", "dual-site"), ("d-both", "dual-site"), ("a-single", "single-site"),
                           ("d-both", "single-site")]
    assert fake.room == ["dual-site", "dual-site", "single-site", "single-site"]
    assert [(j["experiment"]["name"], j["stack"], j["verdict"], j["expected"], j["matches_expectation"])
            for j in result.journals] == [
        ("b-dual", "dual-site", "pass", "pass", True), ("d-both", "dual-site", "pass", "pass", True),
        ("a-single", "single-site", "fail", "fail", True), ("d-both", "single-site", "fail", "fail", True)]
    assert result.exit_code == 0
    assert "4 of 4 runs as expected" in result.index.read_text()
    suites = ET.parse(result.junit).getroot().findall("testsuite")
    assert [s.get("name") for s in suites] == ["b-dual on dual-site", "d-both on dual-site",
                                               "a-single on single-site", "d-both on single-site"]


def test_a_mapping_run_against_its_expectation_exits_1(tmp_path, with_mapping, fake):
    # d-both recovers on single-site, where it is expected to fail.
    result = nightly.run_nightly(tmp_path / "nightly", experiments_dir=with_mapping)
    (surprise,) = [j for j in result.journals if j["verdict"] != j["expected"]]
    assert (surprise["experiment"]["name"], surprise["stack"], surprise["expected"]) == ("d-both", "single-site",
                                                                                       "fail")
    assert result.exit_code == 1


def test_a_mapping_naming_an_unknown_stack_stops_the_suite_before_any_run(tmp_path, experiments, fake):
    _experiment(experiments, "e-typo", "dual-site", "{dual-site: pass, single-sit: fail}", "[nightly]")
    with pytest.raises(InvalidInput, match="unknown stack 'single-sit'; did you mean 'single-site'"):
        nightly.run_nightly(tmp_path / "nightly", experiments_dir=experiments)
    assert fake.calls == []
