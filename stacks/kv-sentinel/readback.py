"""Read-back of the kv-sentinel stacks: after a run, ask kv-api (through the entry point) which of
the written ids the current primary holds: ``POST /kv/readback {"ids": [...]}`` ->
``{"counts": {id: 0 | 1}}``. Plain Python with ``requests`` (no Locust).

Every id asked is in the answer; a batch is retried on connection errors, timeouts and 5xx (the
system may still be settling after a failover) for up to ``timeout_s``; anything else raises
RuntimeError saying what and where.
"""

from __future__ import annotations

import time

import requests

BATCH = 2000
REQUEST_TIMEOUT_S = 10.0


def _counts(session: requests.Session, url: str, ids: list[str], timeout_s: float) -> dict[str, int]:
    deadline = time.monotonic() + timeout_s
    last = "no attempt"
    while True:
        try:
            r = session.post(url, json={"ids": ids}, timeout=REQUEST_TIMEOUT_S)
            if r.status_code < 500:
                if r.status_code != 200:
                    raise RuntimeError(f"POST {url}: HTTP {r.status_code}: {r.text[:200]}")
                counts = r.json().get("counts")
                if not isinstance(counts, dict) or any(type(counts.get(i)) is not int for i in ids):
                    raise RuntimeError(f"POST {url}: answer lacks counts for some ids")
                return {i: counts[i] for i in ids}
            last = f"HTTP {r.status_code}: {r.text[:200]}"
        except (requests.ConnectionError, requests.Timeout) as e:
            last = f"{type(e).__name__}: {e}"
        if time.monotonic() + 1 > deadline:
            raise RuntimeError(f"POST {url}: no answer within {timeout_s:.0f} s (last: {last})")
        time.sleep(1)


def read_back(base_url: str, writes: dict[str, list[str]], timeout_s: float = 60.0) -> dict[str, dict[str, int]]:
    """writes: service -> ids written (acknowledged and unknown). Returns {"kv": {id: copies}}."""
    url = f"{base_url.rstrip('/')}/kv/readback"
    ids = list(dict.fromkeys(i for service_ids in writes.values() for i in service_ids))
    found: dict[str, int] = {}
    with requests.Session() as session:
        for start in range(0, len(ids), BATCH):
            found.update(_counts(session, url, ids[start:start + BATCH], timeout_s))
    return {"kv": found}
