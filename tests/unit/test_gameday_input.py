"""Game day, the facilitator's side without Docker: what a typed line means, the line editor of
the terminal, the participants, the live view, and the Facilitator gate fed through a pipe."""

from __future__ import annotations

import os

import pytest

from chaos.errors import InvalidInput
from chaos.experiment import FaultSpec, Target
from chaos.gameday.console import Console, LineEditor
from chaos.gameday.facilitator import Facilitator
from chaos.gameday.keys import Abort, Go, Help, Note, parse_line, parse_participants
from chaos.gameday.live import live_lines
from chaos.gate import Answer, LiveStatus
from chaos.history import HistoryWriter, history_dir
from chaos.history import load as load_history
from chaos.schedule import INJECT, LOAD, Step

PEOPLE = ("alice", "bob")


# What a typed line means.


@pytest.mark.parametrize("line", ["", "   ", "\t"])
def test_enter_alone_is_the_go(line):
    assert parse_line(line, PEOPLE) == Go()


@pytest.mark.parametrize("line", ["!", " ! ", "abort", "ABORT", "Abort "])
def test_the_abort_key(line):
    assert parse_line(line, PEOPLE) == Abort()


@pytest.mark.parametrize("line", ["?", "help", "HELP"])
def test_help(line):
    assert parse_line(line, PEOPLE) == Help()


def test_any_other_line_is_a_note_of_the_facilitator():
    assert parse_line("  primary gone at pangyo ", PEOPLE) == Note("primary gone at pangyo", "alice")
    assert parse_line("abort soon?", PEOPLE) == Note("abort soon?", "alice")  # only the exact words abort
    assert parse_line("!!", PEOPLE) == Note("!!", "alice")


def test_a_participant_prefix_credits_the_note():
    assert parse_line("Bob: db switched over", PEOPLE) == Note("db switched over", "bob")
    assert parse_line("db: switched over", PEOPLE) == Note("db: switched over", "alice")  # not a participant
    assert parse_line("bob:", PEOPLE) == Note("bob:", "alice")  # nothing after the name: kept as typed


def test_without_participants_a_note_has_no_author():
    assert parse_line("look", ()) == Note("look", None)


def test_participants_in_order_each_once():
    assert parse_participants(" alice , bob,,Alice,  carol   d ") == ("alice", "bob", "carol d")
    assert parse_participants("") == ()


@pytest.mark.parametrize("text", ["alice,b\x07ob", "x" * 61])
def test_a_bad_participant_name_is_refused(text):
    with pytest.raises(InvalidInput, match="a name is printable text"):
        parse_participants(text)


# The line editor (the terminal in cbreak mode sends keys one by one).


def test_editor_lines_backspace_and_one_enter_for_cr_lf():
    editor = LineEditor()
    assert editor.feed("ab\x7fc") == [] and editor.typed == "ac"
    assert editor.feed("\r\n") == ["ac"]
    assert editor.feed("\n") == [""]  # a second Enter is a second (empty) line
    assert editor.feed("x\ry\n") == ["x", "y"]


def test_editor_ignores_arrow_keys_and_control_keys_and_erases_words_and_lines():
    editor = LineEditor()
    assert editor.feed("n\x1b[Ao\x1bOBte\x04\x01") == [] and editor.typed == "note"
    editor.feed(" two words")
    editor.feed("\x17")
    assert editor.typed == "note two "
    editor.feed("\x15")
    assert editor.typed == ""


def test_console_reads_lines_without_blocking_and_decodes_split_utf8(tmp_path):
    read, write = os.pipe()
    try:
        console = Console(read, open(tmp_path / "out.txt", "w"), screen=False)
        console.pump()  # nothing typed: returns at once
        assert console.take_line() is None
        data = "한강 note\nsecond".encode()
        os.write(write, data[:2])
        console.pump()
        os.write(write, data[2:])
        console.pump()
        assert console.take_line() == "한강 note"
        assert console.take_line() is None  # "second" has no Enter yet
        os.close(write)
        write = None
        console.pump()
        assert console.eof
    finally:
        os.close(read)
        if write is not None:
            os.close(write)


# The live view.


class FakeFault:
    type = "pause"
    heal_verb = "healed"

    def __init__(self, at_s: float = 8.0):
        self.spec = FaultSpec("pause", Target(service="truth-8s"), at_s, {"duration_s": 30})


def test_live_view_shows_clock_phase_active_faults_services_and_the_step_waiting():
    step = Step(8.0, INJECT, "f1", FakeFault())
    live = LiveStatus(elapsed_s=12.34, duration_s=30.0, end_s=32.0, delay_s=2.0, phase="fault",
                      active=("f0 kill on service=truth-3s",),
                      recent={"truth-3s": {"ok": 0, "fail": 96, "unknown": 0},
                              "truth-8s": {"ok": 101, "fail": 0, "unknown": 1}},
                      next_step=step, next_at_s=10.0)
    assert live_lines(live, step) == [
        "t=12.3s of 32.0s (+2.0s held) | fault | f0 kill on service=truth-3s",
        "last 5s: truth-3s ok 0 fail 96 unknown 0 | truth-8s ok 101 fail 0 unknown 1",
        "WAITING FOR GO: f1 pause on service=truth-8s (planned t=8s): Enter to go, ! + Enter to abort"]
    running = live_lines(live, None)
    assert running[2] == "next: f1 pause on service=truth-8s at t=10.0s; load ends at t=32.0s"


def test_live_view_before_the_load():
    live = LiveStatus(elapsed_s=None, duration_s=30.0, end_s=30.0, delay_s=0.0, phase="before the load")
    lines = live_lines(live, Step(0.0, LOAD))
    assert lines[0] == "before the load (30s planned) | before the load | no fault active"
    assert lines[2].startswith("WAITING FOR GO: start the load (planned t=0s)")


# The Facilitator: the gate the runner asks, here fed through a pipe.


@pytest.fixture
def typed(tmp_path):
    """(facilitator factory, type(text), the output file, the history's run folder)."""
    read, write = os.pipe()
    out_path = tmp_path / "out.txt"
    out = open(out_path, "w")
    run_dir = tmp_path / "run"
    writer = HistoryWriter(history_dir(run_dir) / "faults.jsonl")

    def make(auto: bool = False) -> Facilitator:
        f = Facilitator(Console(read, out, screen=False), PEOPLE, auto=auto)
        f.begin(writer)
        return f

    yield make, lambda text: os.write(write, text.encode()), out_path, run_dir
    writer.close()
    out.close()
    os.close(read)
    os.close(write)


LIVE = LiveStatus(elapsed_s=3.0, duration_s=30.0, end_s=30.0, delay_s=0.0, phase="steady")
DUE = Step(3.0, INJECT, "f0", FakeFault(3.0))


def test_a_step_waits_for_enter_and_a_note_is_written_with_both_clocks(typed):
    make, type_, out, run_dir = typed
    gate = make()
    assert gate.poll(LIVE, DUE) is Answer.WAIT
    assert gate.poll(LIVE, DUE) is Answer.WAIT
    type_("bob: pangyo's primary is gone\n")
    assert gate.poll(LIVE, DUE) is Answer.WAIT
    type_("\n")
    assert gate.poll(LIVE, DUE) is Answer.GO
    (note,) = load_history(run_dir).notes
    assert (note.text, note.author) == ("pangyo's primary is gone", "bob")
    assert note.wall > 1e9 and note.mono > 0
    text = out.read_text()
    assert text.count("[go?] f0 pause on service=truth-8s is due (planned t=3s)") == 1  # announced once
    assert "[note] " in text and "t=3.0s bob: pangyo's primary is gone" in text
    assert "[go] f0 pause on service=truth-8s (held " in text


def test_enter_with_nothing_due_is_no_go_for_a_later_step(typed):
    make, type_, out, _ = typed
    gate = make()
    type_("\n")
    assert gate.poll(LIVE, None) is Answer.WAIT
    assert "nothing waits for a go now" in out.read_text()
    assert gate.poll(LIVE, DUE) is Answer.WAIT


def test_lines_typed_after_a_go_wait_for_the_next_step(typed):
    make, type_, _, run_dir = typed
    gate = make()
    type_("\n\n")
    assert gate.poll(LIVE, DUE) is Answer.GO
    assert gate.poll(LIVE, DUE) is Answer.GO  # the second Enter, for the next step due
    assert load_history(run_dir).notes == ()


def test_the_abort_key_answers_abort_at_once(typed):
    make, type_, _, run_dir = typed
    gate = make()
    type_("before\n!\nafter\n")
    assert gate.poll(LIVE, None) is Answer.ABORT
    assert [n.text for n in load_history(run_dir).notes] == ["before"]


def test_auto_goes_on_its_own_and_still_takes_notes_and_the_abort_key(typed):
    make, type_, _, run_dir = typed
    gate = make(auto=True)
    assert gate.poll(LIVE, DUE) is Answer.GO
    assert gate.poll(LIVE, None) is Answer.WAIT
    type_("auto note\n")
    assert gate.poll(LIVE, DUE) is Answer.GO
    assert [n.text for n in load_history(run_dir).notes] == ["auto note"]
    type_("abort\n")
    assert gate.poll(LIVE, DUE) is Answer.ABORT


def test_the_live_view_is_printed_as_a_line_where_there_is_no_screen(typed):
    make, _, out, _ = typed
    gate = make()
    gate.poll(LIVE, None)
    assert "[live] t=3.0s of 30.0s | steady | no fault active" in out.read_text()


# The command line (no terminal here; DOCKER_HOST points nowhere, so nothing is touched).


def gameday_cli(*args: str):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {"PATH": "/usr/bin:/bin", "DOCKER_HOST": "unix:///nonexistent/docker.sock", "HOME": "/tmp"}
    return subprocess.run([sys.executable, "-m", "chaos", "gameday", *args], capture_output=True, text=True,
                          cwd=root, env=env, stdin=subprocess.DEVNULL, timeout=60)


def test_gameday_without_a_terminal_needs_auto():
    p = gameday_cli("experiments/ground-truth-3s.yaml")
    assert p.returncode == 2
    assert "gameday waits for a facilitator's go typed at a terminal" in p.stderr and "--auto" in p.stderr


def test_gameday_refuses_a_bad_experiment_and_a_bad_name_before_anything():
    p = gameday_cli("no-such.yaml", "--auto")
    assert p.returncode == 2 and "no-such.yaml: no such experiment file" in p.stderr
    p = gameday_cli("experiments/ground-truth-3s.yaml", "--auto", "--who", "alice,b\tob")
    assert p.returncode == 2 and "a name is printable text" in p.stderr


def test_gameday_auto_shows_the_plan_and_the_participants_then_needs_docker():
    p = gameday_cli("experiments/ground-truth-3s.yaml", "--auto", "--who", "alice, bob")
    assert p.returncode == 3, p.stderr  # environment: no Docker engine answers
    assert "t=  10.0s  f0 kill on service=truth-3s\n              signal: SIGUSR1\n" in p.stdout
    assert "participants: alice, bob" in p.stdout


def test_live_view_rows_never_wrap_even_with_wide_characters():
    from chaos.gameday.console import columns, fit

    assert columns("판교 ok") == 7 and fit("판교 ok", 3) == "판" and fit("abc", 5) == "abc"
