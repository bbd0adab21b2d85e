"""Time as the runner and the history writer see it: a ``Clock`` (``monotonic()``, ``wall()``,
``sleep(s)``). ``SYSTEM_CLOCK`` is the machine's; a unit test passes a clock of its own (one that
moves only when slept on), so a whole run takes no real time and its timing is exact."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (comparable within one process only)."""

    def wall(self) -> float:
        """Seconds since the epoch (UTC), for timestamps a reader compares with other machines."""

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""


class SystemClock:
    """The machine's clocks: ``time.monotonic``, ``time.time``, ``time.sleep``."""

    @staticmethod
    def monotonic() -> float:
        return time.monotonic()

    @staticmethod
    def wall() -> float:
        return time.time()

    @staticmethod
    def sleep(seconds: float) -> None:
        time.sleep(seconds)


SYSTEM_CLOCK: Clock = SystemClock()
