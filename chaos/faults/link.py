"""What the WAN faults share: they act on the stack's Toxiproxy (``StackDef.toxiproxy_url``), never on
a container.

A fault's proxies are those of its target: a link ``{link: [a, b]}`` is every proxy whose name's
sites are {a, b} in either order (``a.b.db`` and ``b.a.db``); a site
(``isolate``) is every proxy with that site at one end. Two ways to hurt them:

- ``ToxicFault`` adds one toxic per proxy and stream, named ``chaos-<type>-<stream>`` so that the
  heal removes exactly those (a toxic already gone is fine); ``direction`` picks the streams:
  ``upstream`` is client -> server, ``downstream`` server -> client, ``both`` one toxic each.
- ``DisableFault`` disables the proxies (new connections refused, open ones closed) and the heal
  re-enables the ones it disabled; a proxy some other fault had disabled first is left to it.

Both are healed ``duration_s`` after injection, and declare ``needs_toxiproxy``. The parameters
they share (``lasts``, ``after_ms``, ``DIRECTION``) are made here.
"""

from __future__ import annotations

from typing import ClassVar

from chaos.errors import InvalidInput
from chaos.faults.base import Fault, all_at_once
from chaos.faults.params import FaultDecl, Param
from chaos.toxiproxy import Toxiproxy

STREAMS = {"both": ("upstream", "downstream"), "upstream": ("upstream",), "downstream": ("downstream",)}
MAX_MS = 3_600_000  # an hour: the longest delay or timeout a toxic takes


def link_decl(type: str, *params: Param, doc: str, targets: tuple[str, ...] = ("link",)) -> FaultDecl:
    """The declaration of a fault acting on Toxiproxy's proxies: ``params`` (its own, then ``lasts``
    and, for a toxic, ``DIRECTION``), held for ``duration_s``, needing the stack's Toxiproxy."""
    return FaultDecl(type=type, targets=targets, params=params, duration="duration_s", needs_toxiproxy=True, doc=doc)


def lasts(what: str) -> Param:
    """``duration_s`` of a WAN fault (its ``duration``): ``what`` says what lasts."""
    return Param("duration_s", "duration", required=True, above=0, doc=f"Seconds {what}; then it is healed.")


def after_ms(what: str) -> Param:
    """``timeout_ms`` of the Toxiproxy toxics that end connections (timeout, reset_peer)."""
    return Param("timeout_ms", "int", default=0, min=0, max=MAX_MS, doc=f"Milliseconds before each connection is {what}.")


DIRECTION = Param("direction", "str",
    default="both",
    choices=("both", "upstream", "downstream"),
    doc="Which way it applies: upstream = client to server, downstream = server to client, both = each way.",
)


class WanFault(Fault):
    """A fault on the Toxiproxy proxies of its target (a link, or every link of a site); its
    declaration says ``needs_toxiproxy=True``."""

    def __init_subclass__(cls, **kwargs):
        decl = cls.__dict__.get("decl")
        if decl is not None and not decl.needs_toxiproxy:
            raise ValueError(f"fault {decl.type!r}: a WAN fault acts through Toxiproxy: declare needs_toxiproxy=True")
        super().__init_subclass__(**kwargs)

    def toxiproxy(self) -> Toxiproxy:
        url = self.ctx.stack.toxiproxy_url
        if not url:
            raise InvalidInput(f"fault {self.type}: stack {self.ctx.stack.name} has no toxiproxy_url "
                               "in its stack.yaml; WAN faults act through Toxiproxy")
        return Toxiproxy(url)

    def proxies(self, toxiproxy: Toxiproxy) -> dict:
        """The target's proxies by name (with ``enabled`` and ``toxics``); InvalidInput if there are none."""
        t = self.spec.target
        found = toxiproxy.proxies_between(*t.link) if t.link else toxiproxy.proxies_of(t.site)
        if not found:
            raise InvalidInput(f"fault {self.type}: Toxiproxy at {toxiproxy.url} has no proxy for {t.describe()} "
                               "(proxies are named <src-site>.<dst-site>.<service>)")
        return found


class ToxicFault(WanFault):
    """Adds the toxic ``toxic`` with ``attributes()`` to every proxy of the target, per stream."""

    toxic: ClassVar[str]  # the Toxiproxy toxic type

    def attributes(self) -> dict:
        raise NotImplementedError

    def streams(self) -> tuple[str, ...]:
        return STREAMS[self.spec.params.get("direction", "both")]

    def toxic_name(self, stream: str) -> str:
        return f"chaos-{self.type}-{stream}"

    def inject(self) -> str:
        tp = self.toxiproxy()
        proxies = self.proxies(tp)
        attributes = self.attributes()

        def poison(name: str) -> None:
            present = {t.get("name") for t in proxies[name].get("toxics") or ()}
            for stream in self.streams():
                if self.toxic_name(stream) in present:  # left by an earlier attempt: replace it
                    tp.remove_toxic(name, self.toxic_name(stream))
                tp.add_toxic(name, self.toxic_name(stream), self.toxic, stream, attributes)

        all_at_once(sorted(proxies), poison, f"{self.type} incomplete")
        shown = ", ".join(f"{k} {v}" for k, v in attributes.items())
        return (f"{self.toxic} toxic ({shown}) {'+'.join(self.streams())} on {len(proxies)} proxies: "
                f"{', '.join(sorted(proxies))}")

    def heal(self) -> str:
        tp = self.toxiproxy()
        proxies = self.proxies(tp)
        removed: list[str] = []

        def cure(name: str) -> None:
            for stream in self.streams():
                if tp.remove_toxic(name, self.toxic_name(stream)):
                    removed.append(name)

        all_at_once(sorted(proxies), cure, f"{self.type} not healed everywhere")
        return f"removed {len(removed)} {self.toxic} toxics from {len(proxies)} proxies"


class ConnectionEndingToxic(ToxicFault):
    """A toxic that ends connections ``timeout_ms`` after they carry data (0: its own meaning)."""

    def attributes(self) -> dict:
        return {"timeout": self.spec.params.get("timeout_ms", 0)}


class DisableFault(WanFault):
    """Disables every proxy of the target; the heal re-enables the ones this fault disabled."""

    def __init__(self, spec, ctx):
        super().__init__(spec, ctx)
        self.disabled: list[str] = []

    def inject(self) -> str:
        tp = self.toxiproxy()
        proxies = self.proxies(tp)
        victims = sorted(name for name, p in proxies.items() if p.get("enabled", True))
        # Recorded before the act: a call that fails half-way is still undone by the heal.
        self.disabled += [name for name in victims if name not in self.disabled]
        all_at_once(victims, lambda name: tp.set_enabled(name, False), f"{self.type} incomplete")
        already = len(proxies) - len(victims)
        note = f" ({already} already disabled, left as they were)" if already else ""
        return f"disabled {len(victims)} proxies: {', '.join(victims)}{note}"

    def heal(self) -> str:
        if not self.disabled:
            return "no proxy to re-enable"
        tp = self.toxiproxy()
        all_at_once(list(self.disabled), lambda name: tp.set_enabled(name, True),
                    f"{self.type} not healed everywhere")
        return f"re-enabled {len(self.disabled)} proxies"
