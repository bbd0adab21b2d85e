"""Toxiproxy, the WAN between sites.

toxiproxy-python 0.1.1 (the client the project depends on) keeps host and port as class-wide
settings, sets no request timeout and lets error answers pass silently, so the harness talks to
Toxiproxy's documented HTTP API directly with ``requests``: every call has a timeout and every
non-2xx answer raises ``ToxiproxyError`` (carrying the HTTP status).

Proxies are named ``<src-site>.<dst-site>.<service>`` (``a.b.db``: a connection
initiated at site a towards site b's database); ``sites_of`` reads that convention and
``proxies_between`` / ``proxies_of`` find a link's or a site's proxies by it. A toxic's ``stream``
is ``upstream`` (client -> server) or ``downstream`` (server -> client).
"""

from __future__ import annotations

from urllib.parse import quote

TIMEOUT_S = 5


class ToxiproxyError(RuntimeError):
    """A call that failed; ``status`` is the HTTP status, None when Toxiproxy did not answer."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


def sites_of(proxy_name: str) -> tuple[str, str] | None:
    """(src, dst) of a proxy named ``<src>.<dst>.<service>``; None for a name outside the convention."""
    parts = proxy_name.split(".")
    if len(parts) < 3 or not parts[0] or not parts[1]:
        return None
    return parts[0], parts[1]


class Toxiproxy:
    def __init__(self, url: str):
        self.url = url.rstrip("/")

    def _call(self, method: str, path: str, **kw):
        import requests  # here: the stack, validate and plan read proxy names (sites_of) and need no HTTP client

        try:
            r = requests.request(method, self.url + path, timeout=TIMEOUT_S, **kw)
        except requests.RequestException as e:
            raise ToxiproxyError(f"Toxiproxy at {self.url} did not answer {method} {path}: {e}") from None
        if r.status_code >= 300:
            raise ToxiproxyError(f"Toxiproxy {method} {path}: HTTP {r.status_code} {r.text.strip()[:200]}",
                                 r.status_code)
        try:
            return r.json() if r.content else None
        except ValueError:
            raise ToxiproxyError(f"Toxiproxy {method} {path}: not JSON: {r.text[:200]!r}", r.status_code) from None

    def proxies(self) -> dict:
        """Every proxy by name, each with ``enabled`` and its ``toxics`` (GET /proxies)."""
        return self._call("GET", "/proxies")

    def proxies_between(self, a: str, b: str) -> dict:
        """The proxies of the link between sites ``a`` and ``b``, initiated at either end."""
        return {name: p for name, p in self.proxies().items() if set(sites_of(name) or ()) == {a, b}}

    def proxies_of(self, site: str) -> dict:
        """Every proxy with ``site`` at one of its ends: all of the site's links."""
        return {name: p for name, p in self.proxies().items() if site in (sites_of(name) or ())}

    def set_enabled(self, proxy: str, enabled: bool) -> dict:
        """Enable or disable a proxy; disabling refuses new connections and closes the open ones."""
        try:
            return self._call("POST", f"/proxies/{quote(proxy, safe='')}", json={"enabled": enabled})
        except ToxiproxyError as e:
            raise ToxiproxyError(f"proxy {proxy}: could not {'enable' if enabled else 'disable'} it: {e}",
                                 e.status) from None

    def add_toxic(self, proxy: str, name: str, type: str, stream: str, attributes: dict,
                  toxicity: float = 1.0) -> dict:
        """Add toxic ``name`` of ``type`` to ``proxy`` on ``stream``; a toxic of that name must not exist (409)."""
        body = {"name": name, "type": type, "stream": stream, "toxicity": toxicity, "attributes": attributes}
        try:
            return self._call("POST", f"/proxies/{quote(proxy, safe='')}/toxics", json=body)
        except ToxiproxyError as e:
            raise ToxiproxyError(f"proxy {proxy}: could not add toxic {name}: {e}", e.status) from None

    def remove_toxic(self, proxy: str, name: str) -> bool:
        """Remove toxic ``name`` from ``proxy``; False if it was not there (404 is not an error)."""
        try:
            self._call("DELETE", f"/proxies/{quote(proxy, safe='')}/toxics/{quote(name, safe='')}")
            return True
        except ToxiproxyError as e:
            if e.status == 404:
                return False
            raise ToxiproxyError(f"proxy {proxy}: could not remove toxic {name}: {e}", e.status) from None

    def reset(self) -> None:
        """Enable every proxy and remove every toxic (POST /reset)."""
        self._call("POST", "/reset")

    def toxics_left(self) -> int:
        return sum(len(p.get("toxics", [])) for p in self.proxies().values())


def reset_links(url: str | None) -> str | None:
    """The last heal of a run on a stack with a WAN: ``POST /reset`` (every proxy enabled, every
    toxic removed), never raising: None when done (or when ``url`` is None: no Toxiproxy), else
    what went wrong, for the caller to say."""
    if not url:
        return None
    try:
        Toxiproxy(url).reset()
    except Exception as e:  # noqa: BLE001 - a heal reports, it never stops the others
        return f"{type(e).__name__}: {e}" if not str(e) else str(e)
    return None
