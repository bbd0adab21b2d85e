"""A damaged run folder is invalid input, never a crash (issue 14, item 5).

Every case of the corpus starts from a valid, judged run folder (``run_folder.make_run``), damages
one file, and runs ``chaos-harness analyze`` and ``chaos-harness report`` on it: both must exit 2
with a message naming the file (and the line, for the history and JSON syntax) and no traceback.
Then: a torn last line (a writer killed mid-line) makes the run unknown, reports are written
atomically and never through a symlink, and ``$`` in a label is drawn as a dollar, not as math.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path
from typing import Callable

import pytest
from run_folder import MONO0, T0, make_run

from chaos.cli import main

LOAD = "history/load-1.jsonl"
FAULTS = "history/faults.jsonl"


def _lines(run_dir: Path, rel: str) -> list[str]:
    return (run_dir / rel).read_text().splitlines(keepends=True)


def _set_line(rel: str, number: int, text: str) -> Callable[[Path], None]:
    """Replace line ``number`` (1-based) of ``rel`` with ``text`` (bytes written as they are)."""
    def damage(run_dir: Path) -> None:
        lines = [s.encode() for s in _lines(run_dir, rel)]
        lines[number - 1] = (text.encode() if isinstance(text, str) else text) + b"\n"
        (run_dir / rel).write_bytes(b"".join(lines))
    return damage


def _edit_record(rel: str, number: int, edit: Callable[[dict], None]) -> Callable[[Path], None]:
    """Edit the record on line ``number`` of ``rel`` (NaN and Infinity written as JSON allows)."""
    def damage(run_dir: Path) -> None:
        lines = _lines(run_dir, rel)
        record = json.loads(lines[number - 1])
        edit(record)
        lines[number - 1] = json.dumps(record) + "\n"
        (run_dir / rel).write_text("".join(lines))
    return damage


def _set(key: str, value) -> Callable[[dict], None]:
    return lambda r: r.__setitem__(key, value)


def _drop(key: str) -> Callable[[dict], None]:
    return lambda r: r.pop(key)


def _write(rel: str, data: str | bytes) -> Callable[[Path], None]:
    def damage(run_dir: Path) -> None:
        path = run_dir / rel
        if path.is_dir():
            shutil.rmtree(path)
        (path.write_bytes if isinstance(data, bytes) else path.write_text)(data)
    return damage


def _edit_json(rel: str, edit: Callable[[dict], None]) -> Callable[[Path], None]:
    def damage(run_dir: Path) -> None:
        data = json.loads((run_dir / rel).read_text())
        edit(data)
        (run_dir / rel).write_text(json.dumps(data, indent=2))
    return damage


def _at(rel: str, *needles: str, then: str) -> Callable[[Path], str]:
    """The message expected for a shape problem of the JSON file ``rel``: ``rel:<line>: then``, the
    line being where the last of ``needles`` is found, each searched after the one before."""
    def message(run_dir: Path) -> str:
        text, i = (run_dir / rel).read_text(), 0
        for needle in needles:
            i = text.index(needle, i)
        return f"{rel}:{text.count(chr(10), 0, i) + 1}: {then}"
    return message


def _make_dir(rel: str) -> Callable[[Path], None]:
    def damage(run_dir: Path) -> None:
        path = run_dir / rel
        if path.is_dir():
            shutil.rmtree(path)
        path.unlink(missing_ok=True)
        path.mkdir()
        (path / "x").write_text("{}")
    return damage


def _make_fifo(rel: str) -> Callable[[Path], None]:
    """A FIFO where a file belongs: reading it would block for ever."""
    def damage(run_dir: Path) -> None:
        (run_dir / rel).unlink(missing_ok=True)
        os.mkfifo(run_dir / rel)
    return damage


def _history_is_a_file(run_dir: Path) -> None:
    shutil.rmtree(run_dir / "history")
    (run_dir / "history").write_text("not a folder\n")


# (case id, damage, text every message must hold). Line 7 of the load's file is an ok write of
# messaging; line 2 of the faults' file is the fault's "invoked" step; line 1 its "load_started" mark.
CORPUS: list[tuple[str, Callable[[Path], None], str | Callable[[Path], str]]] = [
    ("line-is-a-list", _set_line(LOAD, 7, "[1, 2, 3]"), f"{LOAD}:7: expected a JSON object, got a list"),
    ("line-is-a-number", _set_line(LOAD, 7, "42"), f"{LOAD}:7: expected a JSON object, got a number"),
    ("line-is-a-string", _set_line(LOAD, 7, '"op"'), f"{LOAD}:7: expected a JSON object, got a string"),
    ("line-not-json", _set_line(LOAD, 7, '{"kind": "op", "service": '), f"{LOAD}:7: not JSON"),
    ("line-not-utf8", _set_line(LOAD, 7, b'{"kind": "op", "service": "\xff\xfe"}'), f"{LOAD}:7: not UTF-8"),
    ("line-too-deep", _set_line(LOAD, 7, "[" * 100_000 + "]" * 100_000), f"{LOAD}:7: not JSON"),
    # A number JSON can spell but Python will not read (more than 4300 digits).
    ("line-huge-integer", _set_line(LOAD, 7, '{"kind": "op", "status": ' + "9" * 5000 + "}"), f"{LOAD}:7: not JSON"),
    ("op-missing-outcome", _edit_record(LOAD, 7, _drop("outcome")), f"{LOAD}:7: op: outcome: missing"),
    ("op-missing-kind", _edit_record(LOAD, 7, _drop("kind")), f"{LOAD}:7: kind: missing"),
    ("op-unknown-kind", _edit_record(LOAD, 7, _set("kind", "opp")), f"{LOAD}:7: kind: 'opp' is not one of"),
    ("op-mono-nan", _edit_record(LOAD, 7, _set("mono", float("nan"))), f"{LOAD}:7: op: mono: expected a finite number, got NaN"),
    ("op-mono-infinite", _edit_record(LOAD, 7, _set("mono", float("inf"))), f"{LOAD}:7: op: mono: expected a finite number"),
    ("op-mono-out-of-range", _edit_record(LOAD, 7, _set("mono", -1.7e308)), f"{LOAD}:7: op: mono: -1.7e+308 is out of range"),
    ("op-mono-string", _edit_record(LOAD, 7, _set("mono", "5000.6")), f"{LOAD}:7: op: mono: expected a finite number, got a string"),
    ("op-latency-bool", _edit_record(LOAD, 7, _set("latency", True)), f"{LOAD}:7: op: latency: expected a finite number, got a boolean"),
    ("op-latency-negative", _edit_record(LOAD, 7, _set("latency", -1)), f"{LOAD}:7: op: latency: negative"),
    ("op-outcome-unknown-word", _edit_record(LOAD, 7, _set("outcome", "maybe")), f"{LOAD}:7: op: outcome: 'maybe' is not one of ok, fail, unknown"),
    ("op-service-number", _edit_record(LOAD, 7, _set("service", 7)), f"{LOAD}:7: op: service: expected a string, got a number"),
    ("op-write-id-list", _edit_record(LOAD, 7, _set("write_id", ["a"])), f"{LOAD}:7: op: write_id: expected a string or null, got a list"),
    ("op-status-string", _edit_record(LOAD, 7, _set("status", "200")), f"{LOAD}:7: op: status: expected an integer or null, got a string"),
    ("fault-unknown-step", _edit_record(FAULTS, 2, _set("step", "exploded")), f"{FAULTS}:2: fault: step: 'exploded' is not one of"),
    ("fault-missing-target", _edit_record(FAULTS, 2, _drop("target")), f"{FAULTS}:2: fault: target: missing"),
    ("mark-missing-mono", _edit_record(FAULTS, 1, _drop("mono")), f"{FAULTS}:1: mark: mono: missing"),
    ("note-text-number", _set_line(FAULTS, 1, json.dumps({"kind": "note", "wall": T0, "mono": MONO0, "text": 5})),
     f"{FAULTS}:1: note: text: expected a string, got a number"),
    ("history-file-is-a-folder", _make_dir("history/load-2.jsonl"), "history/load-2.jsonl: not a regular file"),
    ("history-file-is-a-fifo", _make_fifo("history/load-1.jsonl"), "history/load-1.jsonl: not a regular file"),
    ("history-is-a-file", _history_is_a_file, "history: not a folder"),
    ("history-missing", lambda d: shutil.rmtree(d / "history"), "history: no such folder"),
    ("meta-not-json", _write("meta.json", '{"run_id": "run", '), "meta.json:1:"),
    ("meta-not-utf8", _write("meta.json", b'{"run_id": "\xff"}'), "meta.json:1: not UTF-8"),
    ("meta-a-list", _write("meta.json", "[]"), "meta.json:1: expected a JSON object, got a list"),
    ("meta-missing-stack", _edit_json("meta.json", _drop("stack")), _at("meta.json", "{", then="stack: missing")),
    ("meta-services-not-strings", _edit_json("meta.json", _set("services", ["login", 3])),
     _at("meta.json", '"services"', "3", then="services[1]: expected a string, got a number")),
    ("meta-is-a-folder", _make_dir("meta.json"), "meta.json: not a regular file"),
    ("readback-not-json", _write("readback.json", "{"), "readback.json:1:"),
    ("readback-ids-a-list", _edit_json("readback.json", _set("login", ["login-1"])),
     _at("readback.json", '"login": [', then="login: expected an object, got a list")),
    ("readback-count-string", _edit_json("readback.json", lambda r: r["login"].__setitem__("login-1", "1")),
     _at("readback.json", '"login": {', '"login-1"', then="login.login-1: expected a whole number >= 0, got a string")),
    ("invariants-a-list", _write("invariants.json", "[1]"), "invariants.json:1: expected a JSON object, got a list"),
    ("invariants-entry-a-string", _edit_json("invariants.json", _set("money_conserved", "yes")),
     _at("invariants.json", '"money_conserved"', then="money_conserved: expected an object, got a string")),
    ("invariants-holds-a-string", _edit_json("invariants.json", _set("money_conserved", {"holds": "yes"})),
     _at("invariants.json", '"money_conserved"', '"holds"', then="money_conserved.holds: expected true, false or null, got a string")),
    ("invariants-value-a-string", _edit_json("invariants.json", lambda r: r["money_conserved"].__setitem__("value", "0")),
     _at("invariants.json", '"money_conserved"', '"value"', then="money_conserved.value: expected a finite number or null, got a string")),
    ("invariants-expected-missing", _edit_json("invariants.json", lambda r: r["money_conserved"].pop("expected")),
     _at("invariants.json", '"money_conserved"', then="money_conserved.expected: missing (kind equals needs a finite number)")),
    ("invariants-count-negative", _edit_json("invariants.json", lambda r: r["no_negative_wallet"].__setitem__("count", -1)),
     _at("invariants.json", '"no_negative_wallet"', '"count"', then="no_negative_wallet.count: expected a whole number >= 0 or null, got a number")),
    ("invariants-unknown-kind", _edit_json("invariants.json", lambda r: r["money_conserved"].__setitem__("kind", "sum")),
     _at("invariants.json", '"money_conserved"', '"kind"', then="money_conserved.kind: expected one of equals, holds, zero, got 'sum'")),
    ("journal-not-json", _write("journal.json", "{\n  \"schema\": "), "journal.json:2:"),
    ("journal-missing-verdict", _edit_json("journal.json", _drop("verdict")), _at("journal.json", "{", then="verdict: missing")),
    ("journal-rto-string", _edit_json("journal.json", lambda j: j["services"]["login"].__setitem__("rto_s", "3")),
     _at("journal.json", '"services": {', '"login": {', '"rto_s"', then="services.login.rto_s: expected")),
    ("journal-load-missing-users", _edit_json("journal.json", lambda j: j["experiment"]["load"].pop("users")),
     _at("journal.json", '"experiment": {', '"load": {', then="experiment.load.users: missing")),
    ("journal-check-missing-name", _edit_json("journal.json", lambda j: j["checks"][0].pop("name")),
     _at("journal.json", '"checks": [', "{", then="checks[0].name: missing")),
    ("journal-phase-not-object", _edit_json("journal.json", lambda j: j["services"]["login"]["availability_by_phase"].__setitem__("fault", 3)),
     _at("journal.json", '"services": {', '"login": {', '"availability_by_phase"', '"fault"', then="services.login.availability_by_phase.fault: expected object")),
    ("experiment-not-utf8", _write("experiment.yaml", b"name: \xff\n"), "experiment.yaml:1: not UTF-8"),
    ("experiment-is-a-fifo", _make_fifo("experiment.yaml"), "experiment.yaml: not a regular file"),
    ("meta-is-a-fifo", _make_fifo("meta.json"), "meta.json: not a regular file"),
]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    return make_run(tmp_path_factory.mktemp("pristine"), step_s=0.25)


def _copy(pristine: Path, tmp_path: Path) -> Path:
    run_dir = tmp_path / "run"
    shutil.copytree(pristine, run_dir)
    return run_dir


def test_the_corpus_is_large_enough():
    assert len(CORPUS) >= 20
    assert len({name for name, _, _ in CORPUS}) == len(CORPUS)


def test_the_pristine_folder_is_valid(pristine, tmp_path, capsys):
    run_dir = _copy(pristine, tmp_path)
    assert main(["analyze", str(run_dir)]) == 0
    assert main(["report", str(run_dir)]) == 0


@pytest.mark.parametrize("verb", ["analyze", "report"])
@pytest.mark.parametrize("name, damage, message", CORPUS, ids=[c[0] for c in CORPUS])
def test_a_damaged_run_folder_is_invalid_input(pristine, tmp_path, capsys, verb, name, damage, message):
    run_dir = _copy(pristine, tmp_path)
    damage(run_dir)
    if callable(message):
        message = message(run_dir)
    before = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}  # a FIFO is not a file
    code = main([verb, str(run_dir)])
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert "Traceback" not in out + err
    assert f"{run_dir}/{message}" in err, err
    if name.startswith(("line-", "op-", "fault-", "mark-", "note-")):
        assert err.count("\n") == 1, "one message for one damaged line"
    # Nothing was rewritten: the folder is evidence.
    assert {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()} == before


def test_a_damaged_history_names_every_bad_line_up_to_a_limit(pristine, tmp_path, capsys):
    run_dir = _copy(pristine, tmp_path)
    lines = _lines(run_dir, LOAD)
    for i in range(4, 60):
        lines[i] = "[]\n"
    (run_dir / LOAD).write_text("".join(lines))
    assert main(["analyze", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert f"{LOAD}:5: expected a JSON object" in err and f"{LOAD}:14: expected a JSON object" in err
    assert f"{LOAD}:15:" not in err
    assert "and 46 more damaged lines" in err


# ---------------------------------------------------------------------------------------------
# A torn last line: a writer killed mid-line. Not a record, not silently skipped either: the run
# is judged, and the judgement says a record did not reach the history (unknown, never a pass).

def _tear(run_dir: Path, rel: str) -> int:
    """Cut the last line of ``rel`` in half (no newline after it); return its line number."""
    lines = _lines(run_dir, rel)
    lines[-1] = lines[-1][: len(lines[-1]) // 2]
    (run_dir / rel).write_text("".join(lines))
    return len(lines)


@pytest.mark.parametrize("rel", [LOAD, FAULTS])
def test_a_torn_last_line_makes_the_run_unknown(pristine, tmp_path, capsys, rel):
    run_dir = _copy(pristine, tmp_path)
    number = _tear(run_dir, rel)
    code = main(["analyze", "--write", str(run_dir)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    journal = json.loads((run_dir / "journal.json").read_text())
    assert journal["verdict"] == "unknown" and code == 3
    check = next(c for c in journal["checks"] if c["name"] == "ran_as_written")
    assert check["verdict"] == "unknown" and check["figure"] == 1
    assert f"{rel}:{number}" in check["detail"]
    assert any("did not reach the history" in r for r in journal["reasons"])
    assert main(["report", str(run_dir)]) == 0  # the report renders the unknown verdict
    assert "records did not reach the history" in (run_dir / "report.html").read_text()


def test_a_complete_history_passes_ran_as_written(pristine, tmp_path, capsys):
    run_dir = _copy(pristine, tmp_path)
    assert main(["analyze", "--write", str(run_dir)]) == 0
    journal = json.loads((run_dir / "journal.json").read_text())
    check = next(c for c in journal["checks"] if c["name"] == "ran_as_written")
    assert check["verdict"] == "pass" and check["figure"] == 0


def test_a_complete_last_line_without_newline_is_a_record(pristine, tmp_path, capsys):
    run_dir = _copy(pristine, tmp_path)
    text = (run_dir / LOAD).read_text()
    (run_dir / LOAD).write_text(text.rstrip("\n"))
    assert main(["analyze", "--write", str(run_dir)]) == 0
    journal = json.loads((run_dir / "journal.json").read_text())
    assert journal["verdict"] == "pass"


def test_a_torn_line_in_the_middle_is_invalid_input(pristine, tmp_path, capsys):
    run_dir = _copy(pristine, tmp_path)
    lines = _lines(run_dir, LOAD)
    lines[9] = lines[9][:20] + "\n"
    (run_dir / LOAD).write_text("".join(lines))
    assert main(["analyze", str(run_dir)]) == 2
    assert f"{LOAD}:10: not JSON" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# Reports written atomically, never through a symlink.

@pytest.mark.parametrize("name", ["report.html", "junit.xml", "journal.json"])
def test_no_report_is_written_through_a_symlink(pristine, tmp_path, capsys, name):
    run_dir = _copy(pristine, tmp_path)
    outside = tmp_path / "precious.txt"
    outside.write_text("do not touch\n")
    (run_dir / name).unlink(missing_ok=True)
    if name == "journal.json":
        shutil.copy(pristine / name, tmp_path / "journal-copy.json")
        (run_dir / name).symlink_to(tmp_path / "journal-copy.json")
        target = tmp_path / "journal-copy.json"
        original = target.read_bytes()
        os.symlink(outside, run_dir / "report.html")
    else:
        (run_dir / name).symlink_to(outside)
        target, original = outside, outside.read_bytes()
    assert main(["analyze", "--write", str(run_dir)]) == 0
    assert main(["report", str(run_dir)]) == 0
    assert outside.read_text() == "do not touch\n"
    assert target.read_bytes() == original
    for written in ("report.html", "junit.xml", "journal.json"):
        path = run_dir / written
        assert path.is_file() and not path.is_symlink(), written
    assert (run_dir / "report.html").read_text().startswith("<!DOCTYPE html>")
    assert not [p for p in run_dir.iterdir() if p.name.startswith(".") and p.name.endswith(".tmp")]


def test_a_report_path_that_is_a_folder_is_invalid_input(pristine, tmp_path, capsys):
    run_dir = _copy(pristine, tmp_path)
    (run_dir / "report.html").mkdir()
    assert main(["report", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert f"{run_dir}/report.html: is a folder" in err and "Traceback" not in err


def test_the_nightly_index_is_not_written_through_a_symlink(tmp_path):
    from chaos.reports.index import write_index

    outside = tmp_path / "precious.txt"
    outside.write_text("do not touch\n")
    out = tmp_path / "suite"
    out.mkdir()
    (out / "index.html").symlink_to(outside)
    path = write_index(out, [], "nightly")
    assert outside.read_text() == "do not touch\n"
    assert path.is_file() and not path.is_symlink()
    assert "nightly" in path.read_text()


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    from chaos.files import write_atomic

    path = tmp_path / "report.html"
    path.write_text("old")
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(OSError(28, "No space left")))
    from chaos.errors import EnvironmentProblem

    with pytest.raises(EnvironmentProblem, match="report.html"):
        write_atomic(path, "new")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


# ---------------------------------------------------------------------------------------------
# "$" in labels: drawn as the text it is, not parsed as math.

DOLLARS = "paid $5 to C:\\temp and $3"


def test_dollars_in_a_note_and_a_service_name_are_drawn_as_text(pristine, tmp_path, capsys):
    run_dir = _copy(pristine, tmp_path)
    service = "pay$ment $x^2$"
    for rel in (LOAD,):
        text = (run_dir / rel).read_text().replace('"service": "payment"', json.dumps({"service": service})[1:-1])
        (run_dir / rel).write_text(text)
    meta = json.loads((run_dir / "meta.json").read_text())
    meta["services"] = [service if s == "payment" else s for s in meta["services"]]
    (run_dir / "meta.json").write_text(json.dumps(meta))
    readback = json.loads((run_dir / "readback.json").read_text())
    readback[service] = readback.pop("payment")
    (run_dir / "readback.json").write_text(json.dumps(readback))
    with open(run_dir / FAULTS, "a") as f:
        f.write(json.dumps({"kind": "note", "wall": T0 + 20, "mono": MONO0 + 20, "text": DOLLARS,
                            "author": "$alice$"}) + "\n")
    assert main(["analyze", "--write", str(run_dir)]) == 0
    assert main(["report", str(run_dir)]) == 0, capsys.readouterr().err
    page = (run_dir / "report.html").read_text()
    svgs = page.split('<section id="timelines">', 1)[1].split("</section>", 1)[0]
    assert ">n1 paid $5 to C:\\temp and $3 <" in svgs  # the note's label, as typed
    assert svgs.count(">pay$ment $x^2$<") == 1  # the plot's title, as named


def test_the_live_runs_labels_are_escaped_too():
    """The timeline escapes every label itself, so every caller (run, report, game day) is safe."""
    from chaos.checks.windows import FaultWindow
    from chaos.reports.timeline import NoteMarker, timeline_svg

    window = FaultWindow(id="f$0", type="kill", target="service=$a$", injected=MONO0 + 1, injected_wall=T0 + 1,
                         healed=MONO0 + 2, healed_wall=T0 + 2, heal_failed=False, end=MONO0 + 2)
    svg = timeline_svg("$\\frac{a}{$", [], [window], MONO0, MONO0 + 5, [NoteMarker("n1", MONO0 + 3, "$\\x$")])
    assert ">$\\frac{a}{$<" in svg and "f$0 kill service=$a$" in svg and "n1 $\\x$" in svg


# ---------------------------------------------------------------------------------------------
# The journal's shape check is enough for every report: any journal it accepts renders.

def _paths(value, prefix=()):
    """Every key path into ``value`` (the first two items of a list)."""
    items = value.items() if isinstance(value, dict) else enumerate(value[:2]) if isinstance(value, list) else ()
    for key, child in items:
        yield (*prefix, key)
        yield from _paths(child, (*prefix, key))


_DELETE = object()
MUTATIONS = (_DELETE, None, "x", -1.5, float("nan"), True, [], {}, [1], {"a": 1})
# The corpus in parts, one test each, so ``make unit`` (-n auto) renders them on different workers:
# the whole corpus in one test was the slowest test of the suite by far (about 20 s), longer than
# a worker's share of all the others.
JOURNAL_PARTS = ("services.login", "services.messaging", "services.payment", "the rest")


def _part(path: tuple) -> str:
    """The part of the corpus a key path belongs to: a service's figures, or everything else."""
    return f"services.{path[1]}" if path[0] == "services" and len(path) > 1 else "the rest"


@pytest.fixture(scope="module")
def shape_corpus(pristine):
    """The pristine journal (with a game day's participants and a note, so those keys are mutated
    too), every key path into it, and the pristine history: built once for every part."""
    from chaos import history as history_mod

    journal = json.loads((pristine / "journal.json").read_text())
    journal["participants"], journal["notes"] = ["alice"], [
        {"id": "n1", "at": "2025-01-01T00:00:00Z", "t_s": 1.0, "author": None, "text": "x"}]
    return journal, list(_paths(journal)), history_mod.load(pristine)


def test_the_shape_corpus_parts_cover_every_key_path(shape_corpus):
    from chaos.reports import validate_journal_shape

    journal, paths, _ = shape_corpus
    assert validate_journal_shape(journal) == []
    assert {_part(p) for p in paths} == set(JOURNAL_PARTS)  # no path left out of every part


@pytest.mark.parametrize("part", JOURNAL_PARTS)
def test_every_journal_the_shape_check_accepts_renders(shape_corpus, monkeypatch, part):
    from chaos.reports import html, render_junit, render_summary, validate_journal_shape
    from chaos.reports.index import render_index

    monkeypatch.setattr(html, "timeline_svg", lambda *a, **k: "<svg></svg>")
    journal, paths, history = shape_corpus
    accepted = 0
    for path in (p for p in paths if _part(p) == part):
        for value in MUTATIONS:
            mutated = pickle.loads(pickle.dumps(journal))  # a deep copy, three times faster than JSON
            parent = mutated
            for key in path[:-1]:
                parent = parent[key]
            if value is _DELETE:
                del parent[path[-1]]
            else:
                parent[path[-1]] = value
            if validate_journal_shape(mutated):
                continue
            accepted += 1
            try:
                html.build_html(mutated, history, "name: x", {}, set())
                render_summary(mutated, color=True)
                render_junit([mutated])
                render_index([(mutated, "report.html")], "suite", "junit.xml")
            except Exception as e:  # noqa: BLE001 - the assertion names the journal that crashed
                pytest.fail(f"{'.'.join(map(str, path))} = {value!r} passes the shape check but crashes: {e!r}")
    assert accepted > 50  # the check is not simply refusing everything (608 per service, 100 for the rest)


def test_iter_records_refuses_what_is_not_a_record(tmp_path):
    from chaos.errors import InvalidInput
    from chaos.history import iter_records

    path = tmp_path / "load-1.jsonl"
    path.write_text('{"kind": "op"}\n\n[1]\n')
    with pytest.raises(InvalidInput, match=r"load-1.jsonl:3: expected a JSON object, got a list"):
        list(iter_records([path]))
    path.write_text('{"kind": "op"}\n{"kind": "o')
    with pytest.raises(InvalidInput, match=r"load-1.jsonl:2: torn"):
        list(iter_records([path]))
    path.write_text('{"kind": "op"}\n\n{"kind": "mark"}')
    assert [r["kind"] for r in iter_records([path])] == ["op", "mark"]


def test_json_line_finds_the_value_or_the_deepest_part_of_its_path():
    from chaos.files import json_line, problem_path

    text = '{\n  "a": {\n    "b": [\n      1,\n      {"c": 2}\n    ]\n  },\n  "d": "a.b: x"\n}\n'
    assert json_line(text, ["a", "b", 1, "c"]) == 5
    assert json_line(text, ["a", "b", 0]) == 4
    assert json_line(text, ["a", "missing", 3]) == 2  # where "a" starts: the deepest part found
    assert json_line(text, ["d"]) == 8
    assert json_line(text, [0]) == 1  # an index into an object: the root
    assert problem_path("services.login.rto_s: expected x") == ["services", "login", "rto_s"]
    assert problem_path("checks[0].name: missing") == ["checks", 0, "name"]
    assert problem_path("expected a JSON object, got a list") == []
