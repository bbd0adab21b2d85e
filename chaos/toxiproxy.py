"""Toxiproxy, the WAN between sites, driven through toxiproxy-python (the client the user chose).

Every call goes through the library: the proxies (``Toxiproxy.proxies``), enabling and disabling
one (``Proxy.enable`` / ``Proxy.disable``), adding and removing a toxic (``Proxy.add_toxic`` /
``Proxy.destroy_toxic``) and ``POST /reset`` (``Toxiproxy.reset``). No direct API call remains.
Its 0.1.1 release falls short in four ways, and this module makes up for each underneath it:

* **No timeout, and one server per process.** It sends with ``requests.get/post/delete`` (the names
  of the module ``toxiproxy.api``) to a URL made from ``APIConsumer.host`` and ``.port``, settings
  of the class. On first use this module puts a transport in place of that module's ``requests``:
  a request made while a ``Toxiproxy`` of this module is calling the library goes to THAT
  instance's URL (held in a context variable for the call, so two instances, two stacks, in two
  threads never see each other's address; ``APIConsumer.host``/``port`` are never set, and the
  host and port in the library's URL are ignored), with a timeout of ``timeout_s`` (``TIMEOUT_S``).
  Anyone else's use of the library in the same process goes where the library says, as before,
  with a timeout added.
* **Error answers pass silently** (only 400, 404 and 409 raise, as its own exceptions without the
  status). Every answer >= 300 raises ``ToxiproxyError`` carrying the HTTP status, and no answer
  (refused, timed out) raises ``ToxiproxyError`` with status None, from inside the library's call;
  an answer the library cannot read (not JSON, a proxy without its fields) does too.
* **It drops Toxiproxy's answers** (``add_toxic`` and ``enable`` return None; ``proxies`` keeps
  name, listen, upstream and enabled but not the toxics). The transport keeps the answers of the
  call, and the methods here return Toxiproxy's JSON.
* **It puts names into paths unquoted**: names are quoted here before it sees them.

Proxies are named ``<src-site>.<dst-site>.<service>`` (``a.b.db``: a connection
initiated at site a towards site b's database); ``sites_of`` reads that convention and
``proxies_between`` / ``proxies_of`` find a link's or a site's proxies by it. A toxic's ``stream``
is ``upstream`` (client -> server) or ``downstream`` (server -> client).
"""

from __future__ import annotations

import threading
from contextvars import ContextVar
from typing import Any, Callable
from urllib.parse import quote, urlsplit

TIMEOUT_S = 5.0


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


class _Call:
    """One call of a ``Toxiproxy`` into the library: where its requests go, their timeout, and
    the answers they got (the library drops them)."""

    def __init__(self, url: str, timeout_s: float):
        self.url = url
        self.timeout_s = timeout_s
        self.answers: list = []  # requests.Response, in order


_CALL: ContextVar[_Call | None] = ContextVar("chaos_toxiproxy_call", default=None)
_INSTALL = threading.Lock()


class _Transport:
    """Stands in for ``requests`` inside ``toxiproxy.api``, which uses its ``get``, ``post`` and
    ``delete`` only (anything else is passed to ``requests`` as it is)."""

    def __init__(self, requests_module):
        self._requests = requests_module

    def __getattr__(self, name: str):
        return getattr(self._requests, name)

    def get(self, url, params=None, **kw):
        return self._send("GET", url, params=params, **kw)

    def post(self, url, data=None, json=None, **kw):
        return self._send("POST", url, data=data, json=json, **kw)

    def delete(self, url, **kw):
        return self._send("DELETE", url, **kw)

    def _send(self, method: str, url: str, **kw):
        call = _CALL.get()
        if call is None:  # not a call of this module: the library's own behaviour, plus a timeout
            kw.setdefault("timeout", TIMEOUT_S)
            return self._requests.request(method, url, **kw)
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        try:
            r = self._requests.request(method, call.url + path, timeout=call.timeout_s, **kw)
        except self._requests.RequestException as e:
            raise ToxiproxyError(f"Toxiproxy at {call.url} did not answer {method} {path}: {e}") from None
        if r.status_code >= 300:
            raise ToxiproxyError(f"Toxiproxy {method} {path}: HTTP {r.status_code} {r.text.strip()[:200]}",
                                 r.status_code)
        call.answers.append(r)
        return r


def _library():
    """The module ``toxiproxy``, with the transport in place (once per process)."""
    # Imported here: the stack, validate and plan read proxy names (sites_of) and need no HTTP client.
    import requests
    import toxiproxy
    import toxiproxy.api

    sender = getattr(toxiproxy.api, "requests", None)
    if sender is not requests and not isinstance(sender, _Transport):
        # Another layout than 0.1.1's: its requests could not be given a timeout. (A request that
        # bypasses the transport anyway is caught by _through_library: no answer was kept.)
        raise ToxiproxyError("toxiproxy-python: toxiproxy.api does not send through requests as 0.1.1 does; "
                             "chaos.toxiproxy cannot give its calls a timeout")
    with _INSTALL:
        if not isinstance(toxiproxy.api.requests, _Transport):
            toxiproxy.api.requests = _Transport(requests)
    return toxiproxy


def _json(response) -> Any:
    try:
        return response.json() if response.content else None
    except ValueError:
        raise ToxiproxyError(f"Toxiproxy {response.request.method} {urlsplit(response.url).path}: not JSON: "
                             f"{response.text[:200]!r}", response.status_code) from None


class Toxiproxy:
    """One Toxiproxy server, at ``url`` (its API: ``http://127.0.0.1:PORT``). Instances for two
    servers may be used at once, from any threads."""

    def __init__(self, url: str, timeout_s: float = TIMEOUT_S):
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s

    def _through_library(self, what: str, act: Callable[[Any], object]) -> Any:
        """``act(toxiproxy)`` with every request it makes going to this server; Toxiproxy's JSON
        answer to the last of them."""
        lib = _library()
        call = _Call(self.url, self.timeout_s)
        token = _CALL.set(call)
        try:
            act(lib)
        except ToxiproxyError:
            raise
        except Exception as e:  # noqa: BLE001 - the library could not read an answer: never passed over
            status = call.answers[-1].status_code if call.answers else None
            raise ToxiproxyError(f"Toxiproxy at {self.url}: {what}: unexpected answer "
                                 f"({type(e).__name__}: {e})", status) from None
        finally:
            _CALL.reset(token)
        if not call.answers:
            raise ToxiproxyError(f"Toxiproxy at {self.url}: {what}: the client sent no request")
        return _json(call.answers[-1])

    @staticmethod
    def _proxy(lib, name: str):
        """The library's ``Proxy`` for the proxy ``name`` (quoted for its paths). Built here, not
        fetched: its calls use only the name, and ``get_proxy`` would list every proxy first."""
        return lib.Proxy(name=quote(name, safe=""), upstream=None, enabled=None, listen=None)

    def proxies(self) -> dict:
        """Every proxy by name, each with ``enabled`` and its ``toxics`` (GET /proxies)."""
        answer = self._through_library("GET /proxies", lambda lib: lib.Toxiproxy().proxies())
        if not isinstance(answer, dict) or not all(isinstance(p, dict) for p in answer.values()):
            raise ToxiproxyError(f"Toxiproxy at {self.url}: GET /proxies: expected an object of proxies, "
                                 f"got {str(answer)[:200]}")
        return answer

    def proxies_between(self, a: str, b: str) -> dict:
        """The proxies of the link between sites ``a`` and ``b``, initiated at either end."""
        return {name: p for name, p in self.proxies().items() if set(sites_of(name) or ()) == {a, b}}

    def proxies_of(self, site: str) -> dict:
        """Every proxy with ``site`` at one of its ends: all of the site's links."""
        return {name: p for name, p in self.proxies().items() if site in (sites_of(name) or ())}

    def set_enabled(self, proxy: str, enabled: bool) -> dict:
        """Enable or disable a proxy; disabling refuses new connections and closes the open ones."""
        verb = "enable" if enabled else "disable"
        try:
            return self._through_library(f"{verb} proxy {proxy}",
                                         lambda lib: getattr(self._proxy(lib, proxy), verb)())
        except ToxiproxyError as e:
            raise ToxiproxyError(f"proxy {proxy}: could not {verb} it: {e}", e.status) from None

    def add_toxic(self, proxy: str, name: str, type: str, stream: str, attributes: dict,
                  toxicity: float = 1.0) -> dict:
        """Add toxic ``name`` of ``type`` to ``proxy`` on ``stream``; a toxic of that name must not exist (409)."""
        try:
            return self._through_library(
                f"add toxic {name} to proxy {proxy}",
                lambda lib: self._proxy(lib, proxy).add_toxic(name=name, type=type, stream=stream,
                                                               toxicity=toxicity, attributes=attributes))
        except ToxiproxyError as e:
            raise ToxiproxyError(f"proxy {proxy}: could not add toxic {name}: {e}", e.status) from None

    def remove_toxic(self, proxy: str, name: str) -> bool:
        """Remove toxic ``name`` from ``proxy``; False if it was not there (404 is not an error)."""
        try:
            self._through_library(f"remove toxic {name} from proxy {proxy}",
                                  lambda lib: self._proxy(lib, proxy).destroy_toxic(quote(name, safe="")))
            return True
        except ToxiproxyError as e:
            if e.status == 404:
                return False
            raise ToxiproxyError(f"proxy {proxy}: could not remove toxic {name}: {e}", e.status) from None

    def reset(self) -> None:
        """Enable every proxy and remove every toxic (POST /reset)."""
        self._through_library("POST /reset", lambda lib: lib.Toxiproxy().reset())

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
