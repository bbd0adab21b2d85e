"""Toxiproxy, the WAN between sites.

toxiproxy-python 0.1.1 (the client the project depends on) keeps host and port as class-wide
settings, sets no request timeout and lets error answers pass silently, so the harness talks to
Toxiproxy's documented HTTP API directly with ``requests``: every call has a timeout and every
non-2xx answer raises.
"""

from __future__ import annotations

import requests

TIMEOUT_S = 5


class ToxiproxyError(RuntimeError):
    pass


class Toxiproxy:
    def __init__(self, url: str):
        self.url = url.rstrip("/")

    def _call(self, method: str, path: str, **kw):
        try:
            r = requests.request(method, self.url + path, timeout=TIMEOUT_S, **kw)
        except requests.RequestException as e:
            raise ToxiproxyError(f"Toxiproxy at {self.url} did not answer {method} {path}: {e}") from None
        if r.status_code >= 300:
            raise ToxiproxyError(f"Toxiproxy {method} {path}: HTTP {r.status_code} {r.text[:200]}")
        return r.json() if r.content else None

    def proxies(self) -> dict:
        return self._call("GET", "/proxies")

    def reset(self) -> None:
        """Enable every proxy and remove every toxic (POST /reset)."""
        self._call("POST", "/reset")

    def toxics_left(self) -> int:
        return sum(len(p.get("toxics", [])) for p in self.proxies().values())
