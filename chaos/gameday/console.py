"""The facilitator's terminal: typed lines read without blocking, and a live view kept at the
bottom of the screen while the runner's own lines scroll above it. No curses: ``select`` on stdin
and a few ANSI sequences.

On a terminal (stdin and stdout both one) the console switches it to cbreak mode while the run
goes (keys arrive one by one, the terminal echoes nothing) and edits the line itself: printable
text, Backspace, Ctrl-U (erase the line), Ctrl-W (erase a word); arrow keys and other escape
sequences are ignored; Ctrl-C still interrupts. The terminal is restored by ``close`` (also at
exit). Otherwise (a pipe, a log file) lines are read as they come, and the live view is printed as
one line every ``PLAIN_EVERY_S`` seconds.
"""

from __future__ import annotations

import atexit
import codecs
import os
import select
import sys
import time
import unicodedata
from collections import deque
from typing import TextIO

PROMPT = "> "
REDRAW_EVERY_S = 0.5
PLAIN_EVERY_S = 5.0
DEFAULT_WIDTH = 100

_ERASE_LINE, _ERASE_BELOW, _UP = "\x1b[2K", "\x1b[J", "\x1b[{}A"


def columns(text: str) -> int:
    """How many terminal columns ``text`` takes: East Asian wide characters (e.g. Hangul) take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def fit(text: str, width: int) -> str:
    """The longest start of ``text`` that fits in ``width`` columns (no row of the live view may
    wrap: the view is erased by counting its rows)."""
    used = 0
    for i, ch in enumerate(text):
        used += columns(ch)
        if used > width:
            return text[:i]
    return text


class LineEditor:
    """Keystrokes (decoded text) to complete lines; ``typed`` is the line being typed."""

    def __init__(self) -> None:
        self.typed = ""
        self._escape = 0  # 0: none, 1: after ESC, 2: inside a CSI / SS3 sequence
        self._after_cr = False

    def feed(self, text: str) -> list[str]:
        lines = []
        for ch in text:
            after_cr, self._after_cr = self._after_cr, False
            if self._escape == 1:
                self._escape = 2 if ch in "[O" else 0
            elif self._escape == 2:
                if "\x40" <= ch <= "\x7e":
                    self._escape = 0
            elif ch == "\x1b":
                self._escape = 1
            elif ch in "\r\n":
                if ch == "\n" and after_cr:
                    continue  # "\r\n" is one Enter
                lines.append(self.typed)
                self.typed = ""
                self._after_cr = ch == "\r"
            elif ch in "\x7f\b":
                self.typed = self.typed[:-1]
            elif ch == "\x15":  # Ctrl-U
                self.typed = ""
            elif ch == "\x17":  # Ctrl-W
                self.typed = self.typed.rstrip()
                self.typed = self.typed[:self.typed.rfind(" ") + 1]
            elif ch >= " ":
                self.typed += ch
        return lines


class Console:
    def __init__(self, fd_in: int = 0, out: TextIO = sys.stdout, screen: bool | None = None):
        self.fd = fd_in
        self.out = out
        self.screen = _isatty(fd_in) and _isatty(out) if screen is None else screen
        self.editor = LineEditor()
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.lines: deque[str] = deque()
        self.eof = False
        self.block: list[str] = []
        self.stream = ConsoleStream(self)
        self._live = False
        self._shown = 0  # rows of the live view on the screen now
        self._last_draw = -1e9
        self._saved = None  # terminal attributes to restore

    # -- before the run: a plain question ----------------------------------------------------
    def ask(self, prompt: str) -> str:
        """Print ``prompt`` and read one line (blocking; the terminal still in its normal mode)."""
        self.out.write(prompt)
        self.out.flush()
        data = b""
        while not data.endswith(b"\n"):
            chunk = os.read(self.fd, 1024)
            if not chunk:
                break
            data += chunk
        return data.decode("utf-8", errors="replace").rstrip("\r\n")

    # -- during the run ---------------------------------------------------------------------
    def start(self) -> None:
        """Take the terminal over (cbreak mode) and show the live view from now on."""
        if self._live:
            return
        if self.screen:
            import termios
            import tty

            self._saved = termios.tcgetattr(self.fd)
            atexit.register(self._restore)
            tty.setcbreak(self.fd, termios.TCSANOW)  # TCSANOW: keys typed ahead are kept
        self._live = True

    def pump(self) -> None:
        """Read whatever was typed (never blocks); complete lines wait in ``lines``."""
        if self.eof:
            return
        typed_before = self.editor.typed
        while select.select([self.fd], [], [], 0)[0]:
            data = os.read(self.fd, 4096)
            if not data:
                self.eof = True
                break
            self.lines.extend(self.editor.feed(self.decoder.decode(data)))
        if self.screen and self._live and self.editor.typed != typed_before:
            self._redraw()

    def take_line(self) -> str | None:
        return self.lines.popleft() if self.lines else None

    def show(self, block: list[str]) -> None:
        """The live view is now ``block``: on a terminal redrawn when a line other than the first
        changed, else every ``REDRAW_EVERY_S``; elsewhere printed as one line every ``PLAIN_EVERY_S``."""
        # Only the first line (the clock) changes on every call: a change below it is drawn at once.
        changed = block[1:] != self.block[1:]
        self.block = list(block)
        now = time.monotonic()
        if not self._live:
            return
        if self.screen:
            if changed or now - self._last_draw >= REDRAW_EVERY_S:
                self._redraw()
        elif now - self._last_draw >= PLAIN_EVERY_S:
            self._last_draw = now
            self._write("[live] " + " | ".join(block) + "\n")

    def message(self, text: str) -> None:
        """A line that stays (a note recorded, a fault injected): printed above the live view."""
        if self.screen and self._live:
            self._erase()
            self._write(text + "\n")
            self._redraw()
        else:
            self._write(text + "\n")

    def close(self) -> None:
        """Leave the live view and give the terminal back as it was; safe to call twice."""
        self.stream.flush_partial()
        if self.screen and self._live:
            self._erase()
        self._live = False
        self._restore()

    # -- drawing ----------------------------------------------------------------------------
    def _width(self) -> int:
        try:
            columns = os.get_terminal_size(self.out.fileno()).columns
        except (OSError, ValueError, AttributeError):
            columns = 0
        return columns if columns > 10 else DEFAULT_WIDTH

    def _erase(self) -> None:
        if self._shown:
            up = _UP.format(self._shown - 1) if self._shown > 1 else ""
            self._write("\r" + up + _ERASE_BELOW)
            self._shown = 0

    def _redraw(self) -> None:
        width = self._width() - 1
        typed = self.editor.typed
        if columns(PROMPT + typed) > width:  # the end of a long line, where the typing goes on
            typed = "…" + fit(typed[::-1], width - columns(PROMPT) - 1)[::-1]
        rows = [fit(line, width - 1) + "…" if columns(line) > width else line for line in self.block]
        rows.append(PROMPT + typed)
        self._erase()
        self._write("\n".join(_ERASE_LINE + row for row in rows))
        self._shown = len(rows)
        self._last_draw = time.monotonic()

    def _write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def _restore(self) -> None:
        if self._saved is not None:
            import termios

            try:
                termios.tcsetattr(self.fd, termios.TCSADRAIN, self._saved)
            except termios.error:
                pass
            self._saved = None


class ConsoleStream:
    """A file-like object for the runner's lines (``RunOptions.out``): each complete line goes
    through ``Console.message``, so it prints above the live view."""

    def __init__(self, console: Console):
        self.console = console
        self._partial = ""

    def write(self, text: str) -> int:
        self._partial += text
        *complete, self._partial = self._partial.split("\n")
        for line in complete:
            self.console.message(line)
        return len(text)

    def flush(self) -> None:
        pass

    def flush_partial(self) -> None:
        if self._partial:
            line, self._partial = self._partial, ""
            self.console.message(line)

    def isatty(self) -> bool:
        return _isatty(self.console.out)


def _isatty(stream_or_fd) -> bool:
    try:
        if isinstance(stream_or_fd, int):
            return os.isatty(stream_or_fd)
        return stream_or_fd.isatty()
    except (OSError, ValueError, AttributeError):
        return False
