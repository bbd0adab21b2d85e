"""Read-back of the mini-system: after a run, ask each service how many copies of every write id
its DATABASE holds (the harness compares that with what was acknowledged), and audit the money.

Plain Python with ``requests`` (no Locust). The services answer ``POST /<svc>/readback`` and
``GET /payment/audit`` only with the stack's read-back token: env ``CHAOS_READBACK_TOKEN``, else
the file ``scripts/make-secrets.sh`` made (``$CHAOS_SECRETS_DIR/readback_token``, default
``.cache/secrets/readback_token`` of this checkout), the same file the stack mounts into the
services. There is no default token: without one, the read-back raises.

Guarantees: every id asked is in the answer; a batch is retried on connection errors, timeouts and
5xx (the system may still be settling after a failover) for up to ``timeout_s``; anything else
(403, a malformed answer, no success in time) raises RuntimeError saying what and where.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Iterable

import requests

BATCH = 2000
REQUEST_TIMEOUT_S = 10.0
RETRY_PAUSE_S = 1.0
CHECKOUT = Path(__file__).resolve().parents[2]


def secrets_dir() -> Path:
    """Where scripts/make-secrets.sh keeps the stack's secrets (``$CHAOS_SECRETS_DIR``)."""
    return Path(os.environ.get("CHAOS_SECRETS_DIR") or CHECKOUT / ".cache" / "secrets")


def readback_token() -> str:
    """``CHAOS_READBACK_TOKEN``, else the token file the stack mounts; RuntimeError if neither."""
    token = os.environ.get("CHAOS_READBACK_TOKEN", "").strip()
    if token:
        return token
    path = secrets_dir() / "readback_token"
    try:
        token = path.read_text().strip()
    except OSError as e:
        raise RuntimeError(f"no read-back token: CHAOS_READBACK_TOKEN is not set and {path}: "
                           f"{e.strerror} (scripts/make-secrets.sh makes it)") from e
    if not token:
        raise RuntimeError(f"no read-back token: {path} is empty")
    return token



def _batches(ids: Iterable[str], size: int = BATCH) -> list[list[str]]:
    unique = list(dict.fromkeys(ids))
    return [unique[i:i + size] for i in range(0, len(unique), size)]


def _call(session: requests.Session, method: str, url: str, timeout_s: float, **kw) -> dict:
    """One JSON request, retried on connection errors / timeouts / 5xx until ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    last = "no attempt"
    while True:
        try:
            r = session.request(method, url, timeout=REQUEST_TIMEOUT_S,
                                headers={"X-Readback-Token": readback_token()}, **kw)
            if r.status_code < 500:
                if r.status_code != 200:
                    raise RuntimeError(f"{method} {url}: HTTP {r.status_code}: {r.text[:200]}")
                try:
                    body = r.json()
                except ValueError:
                    body = None
                if not isinstance(body, dict):
                    raise RuntimeError(f"{method} {url}: not a JSON object: {r.text[:200]!r}")
                return body
            last = f"HTTP {r.status_code}: {r.text[:200]}"
        except (requests.ConnectionError, requests.Timeout) as e:
            last = f"{type(e).__name__}: {e}"
        if time.monotonic() + RETRY_PAUSE_S > deadline:
            raise RuntimeError(f"{method} {url}: no answer within {timeout_s:.0f} s (last: {last})")
        time.sleep(RETRY_PAUSE_S)


def read_back(base_url: str, writes: dict[str, list[str]],
              timeout_s: float = 60.0) -> dict[str, dict[str, int]]:
    """writes: service -> ids written (acknowledged and unknown ones). Returns service -> {id:
    copies found}: 0 = absent, 1 = present once, >1 = duplicated."""
    base = base_url.rstrip("/")
    result: dict[str, dict[str, int]] = {}
    with requests.Session() as session:
        for service, ids in writes.items():
            found: dict[str, int] = {}
            for batch in _batches(ids):
                url = f"{base}/{service}/readback"
                counts = _call(session, "POST", url, timeout_s, json={"ids": batch}).get("counts")
                if not isinstance(counts, dict) or any(
                        type(counts.get(i)) is not int for i in batch):
                    raise RuntimeError(f"POST {url}: answer lacks counts for some ids")
                found.update((i, counts[i]) for i in batch)
            result[service] = found
    return result


def audit(base_url: str, timeout_s: float = 60.0) -> dict:
    """The payment invariants: ``sum_all_accounts`` (must be 0), ``negative_wallets`` (0),
    ``duplicate_idempotency_keys`` (0), ``wallets``, ``ledger_mismatch_accounts`` (0)."""
    with requests.Session() as session:
        return _call(session, "GET", f"{base_url.rstrip('/')}/payment/audit", timeout_s)


def _whole(audit_answer: dict, key: str, count: bool = True) -> int | None:
    """The audit's figure ``key`` if it is a whole number (>= 0 for a ``count``), else None: the
    invariant is then unknown, and the others keep their figures."""
    v = audit_answer.get(key)
    return v if isinstance(v, int) and not isinstance(v, bool) and (v >= 0 or not count) else None


def invariants(base_url: str, timeout_s: float = 60.0) -> dict[str, dict]:
    """The payment invariants as figures, in the harness's generic kinds (docs/stack-contract.md):
    the harness judges them, now and when it re-judges the saved run.

    * ``money_conserved`` (``equals``): the sum over every account, the bank's (negative: what it
      credited) and the wallets', is 0.
    * ``no_negative_wallet`` (``zero``): wallets below 0, of all wallets.
    * ``idempotency_key_once`` (``zero``): idempotency keys of a payer that made two transfers.
    * ``balances_match_ledger`` (``zero``): accounts whose balance is not the sum of their transfers.
    """
    a = audit(base_url, timeout_s)
    wallets = _whole(a, "wallets")
    accounts = None if wallets is None else wallets + 1  # and the bank
    return {
        "money_conserved": {"kind": "equals", "value": _whole(a, "sum_all_accounts", count=False), "expected": 0,
                            "detail": "the sum of every balance: the bank and "
                                      f"{'?' if wallets is None else wallets} wallets"},
        "no_negative_wallet": {"kind": "zero", "count": _whole(a, "negative_wallets"), "of": wallets,
                               "detail": "wallets with a balance below 0"},
        "idempotency_key_once": {"kind": "zero", "count": _whole(a, "duplicate_idempotency_keys"),
                                 "detail": "idempotency keys that made more than one transfer"},
        "balances_match_ledger": {"kind": "zero", "count": _whole(a, "ledger_mismatch_accounts"),
                                  "of": accounts,
                                  "detail": "accounts whose balance is not the sum of their transfers"},
    }
