"""One exception root for the harness, and the exit codes the CLI maps them to.

    ChaosError                      exit 3 (harness or environment error)
     +-- InvalidInput               exit 2 (bad experiment file, unknown stack, bad arguments)
     |    +-- ExperimentInvalid     every problem of one file at once, with line and key path
     +-- EnvironmentProblem         exit 3 (no Docker engine, image missing, stack not ready)

    Interrupted (a BaseException)   exit 130 / 143 / 129 (Ctrl-C, SIGTERM or SIGHUP during a run)

A failed check is not an exception: it is a verdict (exit 1).
"""

from __future__ import annotations

import signal
import unicodedata
from dataclasses import dataclass

EXIT_PASS = 0
EXIT_CHECK_FAILED = 1
EXIT_INVALID_INPUT = 2
EXIT_ENVIRONMENT = 3
EXIT_SIGINT = 130
EXIT_SIGTERM = 143


class ChaosError(Exception):
    exit_code = EXIT_ENVIRONMENT


class InvalidInput(ChaosError):
    exit_code = EXIT_INVALID_INPUT


class EnvironmentProblem(ChaosError):
    exit_code = EXIT_ENVIRONMENT


def printable(text: str, keep_newlines: bool = False) -> str:
    """``text`` with every control character (a user's ESC, NUL, BEL, a newline inside a name...)
    written as ``\\xNN`` / ``\\uNNNN``, so that nothing a user wrote can move the cursor, recolour
    or forge lines on the terminal. With ``keep_newlines``, newlines (between messages) stay."""
    out = []
    for char in text:
        if keep_newlines and char == "\n":
            out.append(char)
        elif unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


@dataclass(frozen=True)
class Problem:
    """One thing wrong in an input file: where it is and what to write instead."""

    file: str
    line: int | None  # 1-based
    column: int | None  # 1-based
    path: str  # key path, e.g. "faults[0].target.site"
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        key = f" {self.path}:" if self.path else ""
        return printable(f"{where}:{key} {self.message}")


class Interrupted(BaseException):
    """Raised from the runner's SIGINT/SIGTERM handler. A BaseException, like KeyboardInterrupt,
    so that no ``except Exception`` on the way (the Docker SDK's, a fault's best-effort block)
    can swallow it and let the run go on as if nothing had been pressed."""

    def __init__(self, signum: int):
        self.signum = signum
        self.exit_code = {signal.SIGINT: EXIT_SIGINT, signal.SIGTERM: EXIT_SIGTERM}.get(signum, 128 + signum)
        super().__init__(f"interrupted by {signal.Signals(signum).name}")


class ExperimentInvalid(InvalidInput):
    """``problems``: every problem of one file. ``partial``: what of it could be read (an
    ``Experiment`` of its valid parts, or None), so that the checks against the stack can still
    report their problems with the file's own, all at once; never run."""

    def __init__(self, problems: list[Problem], partial=None):
        self.problems = list(problems)
        self.partial = partial
        super().__init__("\n".join(str(p) for p in self.problems))
