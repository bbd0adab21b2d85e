"""``chaos-harness gameday``: the plan, who takes part, then the run through the runner with a
facilitator at the gate (``chaos.gameday.facilitator``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TextIO

from chaos.errors import InvalidInput
from chaos.gameday.console import Console
from chaos.gameday.facilitator import Facilitator
from chaos.gameday.keys import parse_participants
from chaos.plan import plan_text
from chaos.runner import Run, RunOptions, prepare, source_snapshot

WHO_PROMPT = "Who takes part? Names separated by commas, the facilitator first: "


def participants_of(who: str | None, console: Console, interactive: bool) -> tuple[str, ...]:
    """``--who`` if given; else asked at the terminal; else nobody named."""
    if who is not None:
        return parse_participants(who)
    if interactive:
        return parse_participants(console.ask(WHO_PROMPT))
    return ()


def run_gameday(path: str | Path, *, stack: str | None = None, auto: bool = False, who: str | None = None,
                bring_up: bool = True, runs_dir: Path = Path("runs"), fd_in: int = 0,
                out: TextIO = sys.stdout) -> tuple[dict, int]:
    """Run one experiment as a game day; (journal, exit code) as ``run_experiment``."""
    experiment, stack_def = prepare(path, stack)  # every input problem before anything is asked
    as_loaded = source_snapshot(Path(path))  # judged by the file as it was now, not after the prompts
    console = Console(fd_in, out)
    interactive = os.isatty(fd_in)  # stdout may be a pipe (| tee): then the live view comes as lines
    if not auto and not interactive:
        raise InvalidInput("gameday waits for a facilitator's go typed at a terminal, and stdin is not "
                           "one; use --auto to run every step on schedule (notes are still read from stdin)")
    print("The plan (times shift by as long as a step waits for its go):", file=out)
    print(plan_text(experiment, stack_def), file=out, flush=True)
    participants = participants_of(who, console, interactive)
    print(f"participants: {', '.join(participants) or 'nobody named'}", file=out, flush=True)
    facilitator = Facilitator(console, participants, auto=auto)
    opts = RunOptions(stack=stack, runs_dir=Path(runs_dir), bring_up=bring_up, color=console.screen,
                      out=console.stream, gate=facilitator, participants=participants)
    try:
        return Run(experiment, stack_def, opts, Path(path), source_bytes=as_loaded).execute()
    finally:
        console.close()
