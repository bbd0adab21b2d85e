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
        return f"{where}:{key} {self.message}"


class Interrupted(BaseException):
    """Raised from the runner's SIGINT/SIGTERM handler. A BaseException, like KeyboardInterrupt,
    so that no ``except Exception`` on the way (the Docker SDK's, a fault's best-effort block)
    can swallow it and let the run go on as if nothing had been pressed."""

    def __init__(self, signum: int):
        self.signum = signum
        self.exit_code = {signal.SIGINT: EXIT_SIGINT, signal.SIGTERM: EXIT_SIGTERM}.get(signum, 128 + signum)
        super().__init__(f"interrupted by {signal.Signals(signum).name}")


class ExperimentInvalid(InvalidInput):
    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
