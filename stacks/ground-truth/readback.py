"""Read-back of the ground-truth stack: its workload writes nothing, so there is nothing to read."""

from __future__ import annotations


def read_back(base_url: str, writes: dict[str, list[str]], timeout_s: float = 60.0) -> dict[str, dict[str, int]]:
    """No writes, no copies: an empty read-back (every service wrote nothing, so none lost anything)."""
    return {}
