"""The report tells the story (issue 18, item 6): a one-line result, the outage marked apart from the
fault window with the moment the service was back, ok / failed / unknown as three lines, lost and
timed-out writes on the timeline (their ids listed once), RTOs to 0.1 s, "only after the heal"
instead of "never", the columns explained, and the run's provenance."""

from __future__ import annotations

import copy
import json
import re
import subprocess
from pathlib import Path

import pytest
from run_folder import FAULT_AT, HEAL_AT, MONO0, make_run

from chaos import provenance
from chaos.analyze import judge_run
from chaos.checks.metrics import METRICS
from chaos.history import Op
from chaos.reports import read_journal, render_html, render_junit, render_summary
from chaos.reports.index import render_index
from chaos.reports.story import one_line, rto_text
from chaos.reports.summary import figure_text
from chaos.reports.timeline import OutageMarker, WriteMarker, per_second, timeline_svg
from chaos.run_folder import FAIL, OK, UNKNOWN
from chaos.stack import find_stack


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("runs")
    return {"pass": make_run(root, "pass", outage_s={"login": 2.0, "messaging": 3.25, "payment": 3.0}),
            "late": make_run(root, "late", outage_s={"login": 7.0, "messaging": 3.0, "payment": None},
                             lost={"messaging": 2})}


@pytest.fixture(scope="module")
def pages(runs) -> dict[str, str]:
    return {k: render_html(d).read_text(encoding="utf-8") for k, d in runs.items()}


# --- the journal: when the outage began and when the service was back ------------------------------
def test_the_journal_says_when_each_outage_began_and_when_the_service_was_back(runs):
    services = read_journal(runs["pass"])["services"]
    # make_run: ops every 0.1 s; the fault at 15 s; messaging fails for 3.25 s
    assert services["messaging"]["outage_began_s"] == pytest.approx(0.0 + 0.005, abs=0.01)
    assert services["messaging"]["back_s"] == pytest.approx(services["messaging"]["rto_s"])
    assert services["messaging"]["back_s"] == pytest.approx(3.3, abs=0.01)
    assert services["login"]["back_s"] == pytest.approx(2.0, abs=0.01)


def test_a_service_back_only_after_the_heal_has_a_back_figure_and_no_rto(runs):
    payment = read_journal(runs["late"])["services"]["payment"]
    assert payment["rto_s"] is None
    assert payment["back_s"] == pytest.approx(HEAL_AT - FAULT_AT, abs=0.01)


def _ops(service: str, outcomes: list[tuple[float, str]]) -> list[Op]:
    return [Op(service=service, op="write", outcome=o, start=1e9 + t, mono=MONO0 + t, latency=0.01,
               write_id=f"{service}-{i}", status=200, error=None)
            for i, (t, o) in enumerate(outcomes)]


def test_a_service_failing_to_the_end_has_no_back_figure(tmp_path):
    run_dir = make_run(tmp_path, "never", outage_s={"login": 3.0, "messaging": 3.0, "payment": 3.0}, judge=False)
    history = run_dir / "history" / "load-1.jsonl"
    lines = [json.loads(line) for line in history.read_text().splitlines()]
    for op in lines:  # payment fails from the fault to the end of the load
        if op["service"] == "payment" and op["mono"] >= MONO0 + FAULT_AT:
            op["outcome"] = FAIL
    history.write_text("".join(json.dumps(op) + "\n" for op in lines))
    journal = judge_run(run_dir)
    payment = journal["services"]["payment"]
    assert payment["rto_s"] is None and payment["back_s"] is None
    assert payment["outage_began_s"] is not None
    assert rto_text(journal, payment) == "never"
    assert "payment never back" in one_line(journal)


def test_no_fault_no_outage(tmp_path):
    run_dir = make_run(tmp_path, "quiet", outage_s={"login": 0.0, "messaging": 0.0, "payment": 0.0})
    for s in read_journal(run_dir)["services"].values():
        assert s["outage_began_s"] is None and s["back_s"] is None


def test_the_outage_metrics_are_registered_without_columns():
    for name in ("outage_began_s", "back_s"):
        assert METRICS[name].unit == "s" and METRICS[name].heading is None


# --- the one-line result ------------------------------------------------------------------------------
def test_one_line_result_in_the_report_and_the_summary(runs, pages):
    journal = read_journal(runs["pass"])
    line = one_line(journal)
    services = journal["services"].values()
    found = sum(s["recovered_writes"] for s in services)
    assert found > 0 and sum(s["unknown_writes"] for s in services) == 0  # make_run: the read-back finds them
    assert line == ("pangyo dark 16.0-46.5 s; services back after 2.0-3.3 s (limit 30 s); "
                    f"0 of {sum(s['acked_writes'] for s in services):,} acknowledged writes lost "
                    f"({found} timed out: {found} found by the read-back, 0 still unknown)")
    assert f'<p class="story">{line}</p>' in pages["pass"]
    assert render_summary(journal, color=False).splitlines()[1] == f"PASS: {line}"


def test_one_line_names_the_services_back_only_after_the_heal(runs):
    line = one_line(read_journal(runs["late"]))
    assert "login, messaging back after 3.0-7.0 s (limit 30 s)" in line
    assert "payment back only after the heal, at +46.0 s" in line
    assert "2 of " in line and "acknowledged writes lost" in line


# --- RTO to 0.1 s, and "only after the heal" instead of "never" ----------------------------------------
def test_rto_reads_to_a_tenth_of_a_second_everywhere(runs, pages):
    journal = read_journal(runs["pass"])
    journal = copy.deepcopy(journal)
    journal["services"]["messaging"]["rto_s"] = 23.267759
    check = next(c for c in journal["checks"] if c["name"] == "rto_s[messaging]")
    check["figure"] = 23.267759
    check["verdict"] = "fail"  # junit words the figure of a failed check
    assert figure_text(check, journal) == "23.3"
    assert figure_text(check) == "23.3"
    summary = render_summary(journal, color=False)
    assert re.search(r"^  messaging .* 23\.3 ", summary, flags=re.M)
    assert "23.27" not in summary
    assert 'message="figure 23.3 vs threshold rto_s &lt;= 30"' in render_junit([journal])
    assert "<td>23.3</td>" in render_index([(journal, None)], "t", None)
    rto_cells = re.findall(r'<td class="num">(\d+\.\d+)</td>', pages["pass"])
    assert "3.3" in rto_cells and "3.25" not in rto_cells


def test_a_service_back_after_the_heal_is_not_worded_never(runs, pages):
    journal = read_journal(runs["late"])
    payment = journal["services"]["payment"]
    assert rto_text(journal, payment) == "only after the heal, at +46.0 s"
    summary = render_summary(journal, color=False)
    assert "only after the heal, at +46.0 s vs rto_s <= 30" in summary
    assert re.search(r"^  payment .*only after the heal, at \+46\.0 s", summary, flags=re.M)
    assert ">only after the heal, at +46.0 s<" in pages["late"]
    assert ">never<" not in pages["late"]


def test_an_old_journal_without_the_outage_figures_still_reads_never(runs):
    journal = copy.deepcopy(read_journal(runs["late"]))
    for s in journal["services"].values():
        del s["outage_began_s"], s["back_s"]
    assert rto_text(journal, journal["services"]["payment"]) == "never"
    assert "payment never back" in one_line(journal)


# --- the timelines ------------------------------------------------------------------------------------
def test_failed_and_unknown_are_counted_apart():
    ops = _ops("s", [(0.1, OK), (0.2, FAIL), (0.3, UNKNOWN), (0.4, UNKNOWN), (1.5, FAIL)])
    rates = per_second(ops, MONO0, MONO0 + 2.0)
    assert (rates.ok, rates.failed, rates.unknown) == ((1, 0), (1, 1), (2, 0))
    assert rates.bad == (3, 1)


def test_the_timeline_draws_three_lines_the_outage_the_moment_back_and_the_writes():
    ops = _ops("orders", [(t / 10, OK if t < 50 or t > 80 else FAIL) for t in range(120)])
    svg = timeline_svg("orders", ops, [], MONO0, MONO0 + 12.0,
                       outage=OutageMarker(MONO0 + 5.0, MONO0 + 8.1, "back at 8.1 s (RTO 3.1 s)"),
                       writes=[WriteMarker(MONO0 + 4.0, "w1", "lost"), WriteMarker(MONO0 + 5.0, "w2", "unknown")])
    for gid in ("outage-orders", "back-orders", "lost-writes-orders", "unknown-writes-orders"):
        assert f'id="{gid}"' in svg, gid
    for label in ("ok", "failed", "unknown", "outage", "lost writes (1)", "timed-out writes (1)"):
        assert f">{label}<" in svg, label
    assert ">back at 8.1 s (RTO 3.1 s) <" in svg  # late in the plot: left of its line


def test_an_outage_not_back_has_no_back_line():
    ops = _ops("orders", [(t / 10, FAIL) for t in range(50)])
    svg = timeline_svg("orders", ops, [], MONO0, MONO0 + 5.0, outage=OutageMarker(MONO0 + 1.0, None))
    assert 'id="outage-orders"' in svg and 'id="back-orders"' not in svg


def test_each_timeline_of_the_report_marks_its_outage_apart_from_the_fault_window(pages):
    for service in ("login", "messaging", "payment"):
        figure = re.search(rf'<figure class="timeline" data-service="{service}".*?</figure>', pages["late"], re.S)
        assert f'id="outage-{service}"' in figure.group(0)
        assert f'id="fault-window-f0-{service}"' in figure.group(0)
    payment = re.search(r'data-service="payment".*?</figure>', pages["late"], re.S).group(0)
    assert "back only after the heal, at +46.0 s" in payment


def test_lost_ids_are_listed_once_and_placed_on_the_timeline(runs, pages):
    journal = read_journal(runs["late"])
    lost = journal["services"]["messaging"]["lost_ids"]
    assert len(lost) == 2
    page = pages["late"]
    for wid in lost:
        assert page.count(wid) == 1, wid
    writes = re.search(r'<section id="writes">.*?</section>', page, re.S).group(0)
    assert all(wid in writes for wid in lost)
    assert "ids under Lost and timed-out writes" in page
    messaging = re.search(r'data-service="messaging".*?</figure>', page, re.S).group(0)
    assert 'id="lost-writes-messaging"' in messaging


def test_timed_out_writes_are_listed_and_marked(runs, pages):
    journal = read_journal(runs["pass"])
    writes = re.search(r'<section id="writes">.*?</section>', pages["pass"], re.S).group(0)
    listed = writes.count("timed out (outcome unknown)")
    assert listed == sum(s["unknown_writes"] + s["recovered_writes"] for s in journal["services"].values())
    assert 'id="unknown-writes-login"' in pages["pass"]


# --- the columns explained, provenance -----------------------------------------------------------------
def test_the_columns_are_explained_with_the_registry_words(pages):
    explained = re.search(r'<details class="columns".*?</details>', pages["pass"], re.S).group(0)
    assert f"<dt>recovered</dt><dd>{METRICS['recovered_writes'].doc}</dd>" in explained
    assert "<dt>RTO s</dt>" in explained and "only after the heal" in explained


def test_a_report_of_an_old_folder_says_its_provenance_was_not_recorded(pages):
    section = re.search(r'<section id="provenance">.*?</section>', pages["pass"], re.S).group(0)
    assert "Not recorded" in section and "before the harness kept its provenance" in section


def test_the_report_shows_the_provenance_meta_json_keeps(tmp_path):
    run_dir = make_run(tmp_path, "prov")
    meta = json.loads((run_dir / "meta.json").read_text())
    meta["environment"]["provenance"] = provenance.gather(
        find_stack("dual-site"), ["etcd-pangyo leads etcd", "pg-pangyo is already the primary"],
        {"one_primary_sync_standby": (True, "holds: pg-pangyo Leader running", 1.0)})
    (run_dir / "meta.json").write_text(json.dumps(meta))
    journal = judge_run(run_dir)
    assert journal["environment"]["provenance"]["before_first_fault"]["prepare"][0] == "etcd-pangyo leads etcd"
    page = render_html(run_dir).read_text()
    section = re.search(r'<section id="provenance">.*?</section>', page, re.S).group(0)
    for text in ("pg-pangyo is already the primary", "holds: pg-pangyo Leader running", "files_sha256",
                 meta["environment"]["provenance"]["stack"]["files_sha256"]):
        assert text in section, text
    environment = re.search(r'<section id="environment">.*?</section>', page, re.S).group(0)
    assert "files_sha256" not in environment


def _stack(tmp_path: Path, name: str = "mine") -> Path:
    folder = tmp_path / "stacks" / name
    (folder / "config").mkdir(parents=True)
    (folder / "compose.yaml").write_text("services: {}\n")
    (folder / "config" / "check.sh").write_text("echo ok\n")
    return folder


def test_the_stack_hash_changes_with_any_file_and_names_each(tmp_path):
    folder = _stack(tmp_path)
    shared = tmp_path / "stacks" / "shared"
    shared.mkdir()
    (shared / "workload.py").write_text("x = 1\n")
    first = provenance.stack_files(folder, [shared])
    assert set(first["files"]) == {"compose.yaml", "config/check.sh", "../shared/workload.py"}
    assert provenance.stack_files(folder, [shared]) == first
    (shared / "workload.py").write_text("x = 2\n")
    second = provenance.stack_files(folder, [shared])
    assert second["files_sha256"] != first["files_sha256"]
    assert second["files"]["compose.yaml"] == first["files"]["compose.yaml"]
    assert second["files"]["../shared/workload.py"] != first["files"]["../shared/workload.py"]


def test_a_stack_that_declares_nothing_gets_not_declared():
    assert provenance.before_first_fault() == "not declared"
    assert provenance.before_first_fault([], {}) == "not declared"
    assert provenance.before_first_fault(["a"], None) == {"prepare": ["a"]}
    assert provenance.before_first_fault((), {"db": (False, "down")}) == {"steady_state": {"db": "down"}}


def test_the_harness_commit_from_a_checkout_and_none_elsewhere(tmp_path):
    repo = tmp_path / "repo"
    (repo / "chaos").mkdir(parents=True)
    (repo / "chaos" / "a.py").write_text("a = 1\n")
    git = ["git", "-C", str(repo), "-c", "user.email=t@example.invalid", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "x"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    assert provenance.harness(repo) == {"version": provenance.__version__, "commit": head, "checkout": "clean"}
    (repo / "chaos" / "a.py").write_text("a = 2\n")
    assert provenance.harness(repo)["checkout"] == "modified"
    elsewhere = tmp_path / "plain"
    elsewhere.mkdir()
    assert provenance.harness(elsewhere) == {"version": provenance.__version__, "commit": None,
                                             "checkout": "not a git checkout"}


def test_an_rto_the_journal_says_was_not_measured_reads_unknown(runs):
    journal = copy.deepcopy(read_journal(runs["late"]))
    journal["services"]["payment"]["missing"] = {"rto_s": "no requests inside the outage window of f0"}
    assert rto_text(journal, journal["services"]["payment"]) == "unknown"
    assert "payment: RTO not measured" in one_line(journal) and "payment back" not in one_line(journal)
