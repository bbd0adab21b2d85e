"""Game day in the run folder: notes in the history become the journal's ``notes`` (with both
clocks' stamp), the participants come from meta.json, and the report lists the notes and marks
them on every service's timeline."""

from __future__ import annotations

import json

from run_folder import MONO0, SERVICES, T0, make_run
from test_cli import cli

from chaos.analyze import judge_run
from chaos.history import load as load_history
from chaos.reports import iso_utc, read_journal, render_html, render_summary, validate_journal_shape
from chaos.reports.timeline import note_id

NOTES = [(-5.0, "alice", "steady state confirmed, go"), (16.0, "bob", "pangyo dark: <login> & payment 503"),
         (50.0, None, "a rather long note that will not fit on the plot's label as it is")]


def gameday_run(tmp_path, participants=("alice", "bob")):
    run_dir = make_run(tmp_path, judge=False)
    with open(run_dir / "history" / "faults.jsonl", "a") as f:
        for at, author, text in NOTES:
            f.write(json.dumps({"kind": "note", "wall": T0 + at, "mono": MONO0 + at, "text": text,
                                "author": author}) + "\n")
    meta = json.loads((run_dir / "meta.json").read_text())
    if participants is not None:
        meta["participants"] = list(participants)
    (run_dir / "meta.json").write_text(json.dumps(meta))
    return run_dir


def test_notes_are_loaded_into_the_history_in_order(tmp_path):
    history = load_history(gameday_run(tmp_path))
    assert [(n.text, n.author, n.wall, n.mono) for n in history.notes] == [
        (text, author, T0 + at, MONO0 + at) for at, author, text in NOTES]


def test_the_journal_lists_the_notes_and_the_participants(tmp_path):
    journal = judge_run(gameday_run(tmp_path))
    assert journal["participants"] == ["alice", "bob"]
    assert journal["notes"] == [
        {"id": "n1", "at": iso_utc(T0 - 5.0), "t_s": -5.0, "author": "alice", "text": NOTES[0][2]},
        {"id": "n2", "at": iso_utc(T0 + 16.0), "t_s": 16.0, "author": "bob", "text": NOTES[1][2]},
        {"id": "n3", "at": iso_utc(T0 + 50.0), "t_s": 50.0, "author": None, "text": NOTES[2][2]}]
    assert validate_journal_shape(journal) == []
    assert journal["verdict"] == "pass"  # notes judge nothing
    text = render_summary(journal, color=False)
    assert "game day: alice, bob" in text
    assert f"  n2 {iso_utc(T0 + 16.0)} bob: pangyo dark: <login> & payment 503" in text


def test_a_run_that_is_no_game_day_has_neither_key(tmp_path):
    journal = judge_run(make_run(tmp_path))
    assert "notes" not in journal and "participants" not in journal


def test_a_game_day_without_notes_still_says_who_took_part(tmp_path):
    run_dir = make_run(tmp_path, judge=False)
    meta = json.loads((run_dir / "meta.json").read_text())
    (run_dir / "meta.json").write_text(json.dumps({**meta, "participants": []}))
    journal = judge_run(run_dir)
    assert journal["participants"] == [] and journal["notes"] == []
    assert "no note was taken" in render_html(run_dir).read_text()


def test_the_shape_of_notes_is_checked(tmp_path):
    journal = judge_run(gameday_run(tmp_path), write=False)
    journal["notes"][0]["at"] = 3
    del journal["notes"][1]["text"]
    journal["participants"] = ["alice", 7]
    assert validate_journal_shape(journal) == ["notes[0].at: expected str, got int", "notes[1].text: missing",
                                               "participants[1]: expected str, got int"]


def test_the_report_lists_every_note_and_marks_them_on_each_timeline(tmp_path):
    run_dir = gameday_run(tmp_path)
    judge_run(run_dir)
    page = render_html(run_dir).read_text()
    section = page.split('<section id="notes">', 1)[1].split("</section>", 1)[0]
    assert "pangyo dark: &lt;login&gt; &amp; payment 503" in section  # escaped
    assert f"<td>{iso_utc(T0 + 16.0)}</td>" in section and "<td>bob</td>" in section
    assert ">before the load<" in section and ">16.0<" in section
    assert "a rather long note that will not fit on the plot&#x27;s label as it is" in section
    assert "<dt>participants</dt><dd>alice, bob</dd>" in page
    for service in SERVICES:
        # n1 was typed before the load started: listed, but not on the plot
        assert f'id="{note_id("n1", service)}"' not in page
        assert page.count(f'id="{note_id("n2", service)}"') == 1
        assert page.count(f'id="{note_id("n3", service)}"') == 1
    assert page.count(">n2 pangyo dark: &lt;login&gt; &amp; paym… <") == len(SERVICES)  # the label on each plot
    assert "dashed blue: the notes (n1, n2, n3)" in page
    assert "<script" not in page.lower()


def test_report_command_remakes_the_notes_from_the_folder(tmp_path):
    run_dir = gameday_run(tmp_path)
    judge_run(run_dir)
    (run_dir / "report.html").unlink(missing_ok=True)
    p = cli("report", str(run_dir))
    assert p.returncode == 0, p.stderr
    assert "steady state confirmed, go" in (run_dir / "report.html").read_text()
    assert read_journal(run_dir)["notes"][0]["text"] == NOTES[0][2]
