"""The HTML report of a run folder: self-contained, one timeline per service with its fault windows,
every check, the verdict, everything escaped; the `report` command; reports written by the runner."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from run_folder import MONO0, SERVICES, make_run
from test_cli import cli as harness

from chaos import cli
from chaos.analyze import judge_run
from chaos.checks import availability
from chaos.errors import InvalidInput
from chaos.history import Op
from chaos.reports import read_journal, render_html
from chaos.reports.timeline import per_second, window_id
from chaos.runner import Run, RunOptions


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, str]:
    """A judged run (payment never recovers, messaging loses two writes) and its report."""
    run_dir = make_run(tmp_path_factory.mktemp("runs"),
                       outage_s={"login": 7.0, "messaging": 3.0, "payment": None},
                       lost={"messaging": 2},
                       edit={"within hours from its other sites.": "within hours <see https://example.org/x?a=1&b=2>."})
    path = render_html(run_dir)
    return run_dir, path.read_text(encoding="utf-8")


def _outside_pre(page: str) -> str:
    return re.sub(r"<pre>.*?</pre>", "", page, flags=re.S)


def test_report_is_written_into_the_run_folder(report):
    run_dir, page = report
    assert (run_dir / "report.html").is_file()
    assert page.startswith("<!DOCTYPE html>")
    assert page.rstrip().endswith("</html>")


def test_report_is_self_contained(report):
    _, page = report
    assert "<script" not in page.lower()
    assert "<link" not in page.lower()
    assert not re.search(r"url\(\s*['\"]?\s*(https?:)?//", page)
    assert not re.search(r"\b(src|href)\s*=\s*\"(?!#)", page), "only in-page references"
    assert "@import" not in page
    # Outside addresses appear only as escaped text the user wrote (description, experiment file).
    text = _outside_pre(page)
    for address in re.findall(r"https?://[^\s\"'<&]+", text):
        assert address == "https://example.org/x?a=1", address


def test_report_has_one_timeline_per_service_with_its_fault_window(report):
    _, page = report
    figures = re.findall(r'<figure class="timeline" data-service="([^"]+)"', page)
    assert figures == list(SERVICES)
    for service in SERVICES:
        assert page.count(f'id="{window_id("f0", service)}"') == 1
    assert 'id="fault-window-f0-login"' in page
    assert "f0 power_cut site=pangyo" in page
    assert "from 15.0 s to 45.5 s" in page  # the window as labelled: injected .. healed


def test_report_shows_verdict_checks_and_figures(report):
    run_dir, page = report
    journal = read_journal(run_dir)
    assert journal["verdict"] == "fail"
    assert 'class="badge fail">FAIL</span>' in page
    assert "(expected pass): does NOT match the expectation" in page
    for check in journal["checks"]:
        assert f"<td>{check['name']}</td>" in page
    assert "never recovered" in page
    writes = page.split('id="writes"', 1)[1].split("</section>", 1)[0]
    assert "<td>messaging-1</td>" in writes and "<td>messaging-2</td>" in writes  # the lost ids, once
    assert "money_conserved" in page and "Invariants after the run" in page
    assert "rto_s &lt;= 30" in page  # thresholds escaped


def test_report_escapes_the_experiment_and_its_description(report):
    _, page = report
    assert "&lt;see https://example.org/x?a=1&amp;b=2&gt;" in page
    assert "<see " not in page
    assert "power_returns_after_s: 30" in page  # the experiment as run
    assert "docker_engine" in page  # the environment


def test_report_has_latency_per_phase_from_the_history(report):
    _, page = report
    latency = page.split('id="latency"', 1)[1].split("</section>", 1)[0]
    for service in SERVICES:
        for phase in availability.PHASES:
            assert f"<td>{service}</td><td>{phase}</td>" in latency
    # payment failed through the whole fault window: no ok request, no latency figure
    row = re.search(r"<tr><td>payment</td><td>fault</td>(.*?)</tr>", latency).group(1)
    assert row.count(">n/a<") == 3


def test_a_run_never_judged_gets_a_report_without_a_journal(tmp_path, capsys):
    """``chaos-harness report`` judges a folder that has no journal (the report itself never
    judges), and leaves it without one."""
    run_dir = make_run(tmp_path, judge=False)
    assert cli.main(["report", str(run_dir)]) == 0
    assert not (run_dir / "journal.json").exists()
    assert 'class="badge pass">PASS</span>' in (run_dir / "report.html").read_text()
    assert capsys.readouterr().out.splitlines()[0] == f"report: {run_dir / 'report.html'}"


def test_the_report_does_not_judge_a_folder_without_a_journal(tmp_path):
    run_dir = make_run(tmp_path, judge=False)
    with pytest.raises(InvalidInput, match=r"no journal\.json: the run was never judged"):
        render_html(run_dir)
    assert not (run_dir / "report.html").exists() and not (run_dir / "journal.json").exists()


def test_an_aborted_run_says_why(tmp_path):
    run_dir = make_run(tmp_path, duration_s=30.0, step_s=0.5)
    journal = json.loads((run_dir / "journal.json").read_text())
    journal["aborted"] = "availability of payment below 0.5 for 5 s"
    page = render_html(run_dir, journal).read_text()
    assert "<dt>aborted</dt><dd>availability of payment below 0.5 for 5 s</dd>" in page


def test_unknown_verdict_and_a_fault_never_healed(tmp_path):
    run_dir = make_run(tmp_path, judge=False)
    faults = run_dir / "history" / "faults.jsonl"
    faults.write_text("".join(l + "\n" for l in faults.read_text().splitlines()
                              if '"heal' not in l))
    (run_dir / "readback.json").unlink()  # no read-back: data-loss checks are unknown
    page = render_html(run_dir, judge_run(run_dir, write=False)).read_text()
    assert "(never healed)" in page
    assert 'class="badge unknown">' in page  # ran_as_written: never healed
    assert ">unknown<" in page


def test_latency_by_phase_uses_the_phases_of_availability():
    ops = [Op("s", "w", "ok", t, t, lat) for t, lat in ((1.0, 0.010), (2.0, 0.020), (5.0, 0.100),
                                                         (6.0, 0.200), (9.0, 0.030))]
    ops.append(Op("s", "w", "fail", 5.5, 5.5, 5.0))  # failures carry no latency figure
    window = SimpleNamespace(injected=4.0, end=7.0, healed=7.0, contains=lambda m: 4.0 <= m < 7.0)
    by_phase = availability.latency_by_phase(ops, [window], stopped=10.0)
    assert by_phase["steady"] == {"p50": 10.0, "p95": 20.0, "p99": 20.0}
    assert by_phase["fault"] == {"p50": 100.0, "p95": 200.0, "p99": 200.0}
    assert by_phase["after_heal"] == {"p50": 30.0, "p95": 30.0, "p99": 30.0}


def test_per_second_counts_ok_and_failed_plus_unknown():
    ops = [Op("s", "w", outcome, 0.0, MONO0 + t, 0.01)
           for t, outcome in ((0.0, "ok"), (0.5, "fail"), (0.9, "unknown"), (1.2, "ok"), (9.9, "ok"))]
    rates = per_second(ops, MONO0, MONO0 + 2.0)
    assert rates.ok == (1, 1) and rates.bad == (2, 0) and rates.bin_s == 1


def test_a_very_long_span_is_plotted_in_wider_bins():
    """One op a billion seconds after the others (no load_stopped mark): the plot needs 5000 bins
    at most, not a billion (the report ran out of memory)."""
    ops = [Op("s", "w", "ok", 0.0, MONO0 + t, 0.01) for t in (0.0, 1.0, 1e9)]
    rates = per_second(ops, MONO0, MONO0 + 1e9 + 1)
    assert len(rates.ok) <= 5_000 and rates.bin_s == 200_001 and sum(rates.ok) == 3


def test_report_command_writes_html_and_junit(tmp_path):
    run_dir = make_run(tmp_path, duration_s=30.0, step_s=0.5)
    junit = tmp_path / "ci" / "chaos.xml"
    p = harness("report", str(run_dir), "--junit", str(junit))
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == [f"report: {run_dir / 'report.html'}", f"junit: {junit}"]
    assert junit.is_file() and (run_dir / "report.html").is_file()
    p = harness("report", str(tmp_path / "nothing"))
    assert p.returncode == 2 and "not a run folder" in p.stderr


def _run_at(run_dir: Path) -> tuple[Run, list[str]]:
    lines: list[str] = []
    out = SimpleNamespace(write=lines.append, flush=lambda: None)
    run = Run(SimpleNamespace(name="pangyo-power-cut"), SimpleNamespace(name="dual-site"),
              RunOptions(runs_dir=run_dir.parent, out=out), Path("experiments/pangyo-power-cut.yaml"))
    run.run_dir = run_dir
    return run, lines


def test_the_runner_writes_both_reports_after_judging(tmp_path):
    run_dir = make_run(tmp_path, duration_s=30.0, step_s=0.5)
    run, lines = _run_at(run_dir)
    run._write_reports(read_journal(run_dir))
    assert (run_dir / "report.html").is_file() and (run_dir / "junit.xml").is_file()
    assert f"report: {run_dir / 'report.html'}" in "".join(lines)


def test_a_report_failure_is_only_a_warning(tmp_path):
    run_dir = make_run(tmp_path, duration_s=30.0, step_s=0.5)
    journal = read_journal(run_dir)
    (run_dir / "meta.json").unlink()  # render_html cannot work without it
    run, lines = _run_at(run_dir)
    run._write_reports(journal)  # does not raise
    assert "warning: reports not written: InvalidInput" in "".join(lines)


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.integration
@pytest.mark.skipif(_chromium() is None, reason="chromium is not installed")
def test_report_renders_offline_in_headless_chromium(report, tmp_path):
    """Chromium with every background network feature off renders the plots and the shading."""
    from PIL import Image

    run_dir, _ = report
    shot = tmp_path / "report.png"
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                        "--disable-background-networking", "--disable-component-update",
                        "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
                        "--window-size=1200,2000", f"--screenshot={shot}",
                        (run_dir / "report.html").as_uri()],
                       capture_output=True, timeout=120, check=True)
    image = Image.open(shot).convert("RGB")
    assert image.size == (1200, 2000)
    colours = image.getcolors(maxcolors=1 << 20)
    shaded = sum(n for n, (r, g, b) in colours if r > 245 and 220 < g < 245 and 185 < b < 215)
    assert shaded > 10_000, "fault windows shaded"
    red = sum(n for n, (r, g, b) in colours if r > 150 and g < 80 and b < 80)
    assert red > 200, "the FAIL badge and the failed-requests lines"
