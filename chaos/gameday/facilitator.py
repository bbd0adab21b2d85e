"""The game day's gate (``chaos.gate.Gate``): before each step the facilitator's go (or none with
``auto``), typed notes into the run's history, the abort key, and the live view."""

from __future__ import annotations

import time

from chaos.gameday.console import Console
from chaos.gameday.keys import KEYS_HELP, Abort, Go, Help, Note, parse_line
from chaos.gameday.live import live_lines
from chaos.gate import Answer, LiveStatus
from chaos.history import HistoryWriter
from chaos.reports.journal import iso_utc
from chaos.schedule import Step


class Facilitator:
    def __init__(self, console: Console, participants: tuple[str, ...] = (), auto: bool = False):
        self.console = console
        self.participants = tuple(participants)
        self.auto = auto
        self.writer: HistoryWriter | None = None
        self._waiting: Step | None = None  # the step announced as waiting for a go
        self._waiting_since = 0.0

    # -- chaos.gate.Gate ---------------------------------------------------------------------
    def begin(self, writer: HistoryWriter) -> None:
        self.writer = writer
        self.console.start()
        mode = "every step runs on schedule (--auto)" if self.auto else "each step waits for your go"
        self.console.message(f"[gameday] {mode}. {KEYS_HELP}")

    def poll(self, live: LiveStatus, due: Step | None) -> Answer:
        self.console.pump()
        go = False
        while not go and (line := self.console.take_line()) is not None:
            command = parse_line(line, self.participants)
            if isinstance(command, Abort):
                return Answer.ABORT
            if isinstance(command, Note):
                self._record(command, live)
            elif isinstance(command, Help):
                self.console.message(f"[gameday] {KEYS_HELP}")
            elif isinstance(command, Go):
                if due is not None and not self.auto:
                    go = True  # lines typed after this Enter wait for the next poll
                else:
                    self.console.message("[gameday] nothing waits for a go now")
        if due is not None and (go or self.auto):
            if not self.auto:
                held = time.monotonic() - self._waiting_since if self._waiting == due else 0.0
                self.console.message(f"[go] {due.describe()} (held {held:.1f}s)")
            self._waiting = None
            self.console.show(live_lines(live, None))
            return Answer.GO
        if due is not None and self._waiting != due:
            self._waiting, self._waiting_since = due, time.monotonic()
            self.console.message(f"[go?] {due.describe()} is due (planned t={due.at_s:g}s): "
                                 "press Enter to go (! + Enter aborts)")
        self.console.show(live_lines(live, due))
        return Answer.WAIT

    def end(self) -> None:
        self.console.close()

    # ---------------------------------------------------------------------------------------
    def _record(self, note: Note, live: LiveStatus) -> None:
        if self.writer is None:
            raise RuntimeError("a note before the run began: Facilitator.begin was not called")
        record = self.writer.note(note.text, note.author)
        when = "before the load" if live.elapsed_s is None else f"t={live.elapsed_s:.1f}s"
        self.console.message(f"[note] {iso_utc(record['wall'])} {when} {note.author or '-'}: {note.text}")
