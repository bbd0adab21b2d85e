"""The live tally: the load's history read while it grows, for the progress line, a game day's
live view and the ``abort_if`` conditions (``chaos.abort``)."""

from __future__ import annotations

import json
from pathlib import Path

from chaos.history import op_from_record
from chaos.run_folder import KIND_OP, LOAD_HISTORY_GLOB, OUTCOMES


def zero_counts() -> dict[str, int]:
    return {outcome: 0 for outcome in OUTCOMES}


class LiveTally:
    """Reads the load's history files as they grow, each line once: counts outcomes, in all and per
    service, for the progress line and hands every op to ``consumers`` (objects with ``add(op)``,
    e.g. an ``AbortMonitor``). A line still being written (no newline yet) is left for the next
    update. With ``recent_s``, it also keeps what each service answered lately (``recent``)."""

    def __init__(self, directory: Path, consumers: tuple = (), recent_s: float | None = None):
        self.directory = directory
        self.consumers = tuple(consumers)
        self.offsets: dict[Path, int] = {}
        self.counts = zero_counts()
        self.by_service: dict[str, dict[str, int]] = {}
        self.recent_s = recent_s
        self._answered: list[tuple[float, str, str]] = []  # (answered at, service, outcome), recent_s only

    def recent(self, now: float) -> dict[str, dict[str, int]]:
        """Per service, the outcomes answered in the last ``recent_s`` seconds before ``now``
        (monotonic); every service seen so far appears, with zeros if it answered nothing lately."""
        if self.recent_s is None:
            raise ValueError("LiveTally made without recent_s keeps no recent outcomes")
        since = now - self.recent_s
        self._answered = [a for a in self._answered if a[0] >= since]
        counts = {service: zero_counts() for service in sorted(self.by_service)}
        for at, service, outcome in self._answered:
            if at <= now:
                counts[service][outcome] += 1
        return counts

    def update(self) -> dict:
        for path in sorted(self.directory.glob(LOAD_HISTORY_GLOB)):
            with open(path, "rb") as f:
                f.seek(self.offsets.get(path, 0))
                data = f.read()
            end = data.rfind(b"\n") + 1
            self.offsets[path] = self.offsets.get(path, 0) + end
            for line in data[:end].splitlines():
                self._take(line)
        return self.counts

    def _take(self, line: bytes) -> None:
        try:
            record = json.loads(line)
            if record.get("kind") != KIND_OP:
                return
            op = op_from_record(record)
        except (ValueError, KeyError, TypeError, AttributeError):  # torn or foreign line: skipped
            return
        if op.outcome in self.counts:
            self.counts[op.outcome] += 1
            per = self.by_service.setdefault(op.service, zero_counts())
            per[op.outcome] += 1
            if self.recent_s is not None:
                self._answered.append((op.mono + op.latency, op.service, op.outcome))
        for consumer in self.consumers:
            consumer.add(op)
