"""What a line the facilitator typed means (pure: no terminal, no clock).

    Enter alone            go: the step that waits runs now
    ! or abort, then Enter  abort: every fault is healed at once, the load stops, the run is judged
                           (its check not_aborted fails); Ctrl-C heals too, then exits 130 unjudged
    ? or help, then Enter   the keys again
    anything else + Enter   a note, stamped when Enter was pressed; "bob: text" credits the note to
                           the participant bob, else it is the facilitator's (the first participant)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chaos.errors import InvalidInput

ABORT_WORDS = ("!", "abort")
HELP_WORDS = ("?", "help")
KEYS_HELP = ("Enter: go for the step that waits | any other text + Enter: a note (\"name: text\" "
             "credits a participant) | ! or abort + Enter: heal everything now and stop | "
             "? + Enter: these keys | Ctrl-C: heal everything and exit unjudged")
MAX_NAME = 60


@dataclass(frozen=True)
class Go:
    pass


@dataclass(frozen=True)
class Abort:
    pass


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class Note:
    text: str
    author: str | None


Command = Go | Abort | Help | Note


def parse_line(line: str, participants: tuple[str, ...] = ()) -> Command:
    """The command of one typed line (without its newline)."""
    text = line.strip()
    if not text:
        return Go()
    if text.lower() in ABORT_WORDS:
        return Abort()
    if text.lower() in HELP_WORDS:
        return Help()
    return Note(*_credit(text, participants))


def _credit(text: str, participants: tuple[str, ...]) -> tuple[str, str | None]:
    """(note text, author): a leading "name:" naming a participant (any case) credits them."""
    head, sep, rest = text.partition(":")
    if sep and rest.strip():
        for name in participants:
            if head.strip().lower() == name.lower():
                return rest.strip(), name
    return text, participants[0] if participants else None


def parse_participants(text: str) -> tuple[str, ...]:
    """Names separated by commas, in order, each once (the facilitator first). InvalidInput for a
    name with control characters or longer than ``MAX_NAME``."""
    names: list[str] = []
    for raw in text.split(","):
        name = " ".join(raw.split())
        if not name:
            continue
        if re.search(r"[\x00-\x1f\x7f]", raw.strip()) or len(name) > MAX_NAME:
            raise InvalidInput(f"participant {name!r}: a name is printable text of at most {MAX_NAME} characters")
        if name.lower() not in (n.lower() for n in names):
            names.append(name)
    return tuple(names)
