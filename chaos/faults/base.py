"""What every fault is: a declaration (``chaos.faults.params.FaultDecl``), an injection and a heal
that is safe to repeat, acting only on the containers of the experiment's own compose project,
found by their labels (or, for the WAN, on the stack's Toxiproxy: ``chaos.faults.link``).

A subclass of ``Fault`` with its own ``decl`` is registered when it is defined: its declaration in
``chaos.faults.params.REGISTRY`` (what the loader, ``plan`` and ``schema`` read), its class in
``IMPLEMENTATIONS`` (what the runner builds). A class without one (``ToxicFault``, a test's fake)
is a base or a stand-in, and registers nothing.

Importing a fault module must stay cheap, because ``validate`` and ``plan`` import every one to
read the declarations: the Docker SDK, ``requests`` and anything heavy are imported inside
``inject`` and ``heal``, never at the top of the module (a unit test holds it).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, ClassVar

from chaos.errors import InvalidInput
from chaos.experiment import FaultSpec
from chaos.faults.params import FaultDecl, register
from chaos.engine import containers

if TYPE_CHECKING:  # only a type here: chaos.stack reads stack.yaml through the loader, which reads these declarations
    from chaos.stack import StackDef

IMPLEMENTATIONS: dict[str, type["Fault"]] = {}


@dataclass
class FaultContext:
    client: object  # docker.DockerClient
    stack: StackDef


class Fault:
    """One scheduled fault. ``decl`` is its declaration; ``type``, ``needs_toxiproxy`` and
    ``heal_verb`` are read from it when the class is defined. ``heal_after_s``: seconds after
    injection when the runner heals it (None: only at the end of the run, in ``finally``)."""

    decl: ClassVar[FaultDecl | None] = None
    type: ClassVar[str]
    needs_toxiproxy: ClassVar[bool] = False  # acts on the stack's Toxiproxy (needs its toxiproxy_url)
    heal_verb: ClassVar[str] = "healed"  # what its heal is called in plans ("rebuilt" for a site loss)
    # While it is active, its site's engine is expected not to answer (the runner's engine watch
    # does not call that a lost engine).
    silences_engine: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        decl = cls.__dict__.get("decl")
        if decl is None:
            return
        known = IMPLEMENTATIONS.get(decl.type)
        if known is not None and (known.__module__, known.__qualname__) != (cls.__module__, cls.__qualname__):
            raise ValueError(f"fault type {decl.type!r} is already implemented by {known.__module__}.{known.__qualname__}")
        register(decl)
        cls.type, cls.needs_toxiproxy, cls.heal_verb = decl.type, decl.needs_toxiproxy, decl.heal_verb
        IMPLEMENTATIONS[decl.type] = cls

    def __init__(self, spec: FaultSpec, ctx: FaultContext):
        self.spec = spec
        self.ctx = ctx

    @classmethod
    def refuses(cls, spec: FaultSpec, stack: StackDef) -> str | None:
        """Why this fault cannot act on ``stack`` as ``spec`` asks (said at ``validate``, with the
        fault's line), or None. Most faults can act on any stack that has their target."""
        return None

    @property
    def heal_after_s(self) -> float | None:
        return self.decl.heal_after_s(self.spec.params) if self.decl else None

    def inject(self) -> str:
        """Inject; return a short description of what was done."""
        raise NotImplementedError

    def heal(self) -> str:
        """Undo; must be idempotent and must work even if inject failed half-way."""
        raise NotImplementedError

    # helpers -----------------------------------------------------------------------------
    def targets(self) -> list:
        t = self.spec.target
        found = containers(self.ctx.client, self.ctx.stack, site=t.site, service=t.service)
        if not found:
            raise InvalidInput(f"fault {self.spec.type}: no container of stack {self.ctx.stack.name} "
                               f"matches {t.describe()}")
        return found


def start_if_stopped(container) -> None:
    """Bring a container back: unpause it if frozen, start it if it is not running; else nothing."""
    container.reload()
    if container.status == "paused":
        container.unpause()
    elif container.status != "running":
        container.start()


def at_once(items: list, action: Callable) -> list[str]:
    """Apply ``action`` to every item concurrently (one thread each, so they land within
    milliseconds of each other); return the errors as text, one per failed item."""
    errors: list[str] = []
    if not items:
        return errors

    def one(item):
        try:
            action(item)
        except Exception as e:  # noqa: BLE001 - collected and reported by the caller
            errors.append(f"{getattr(item, 'name', item)}: {e}")

    with ThreadPoolExecutor(max_workers=len(items)) as pool:
        list(pool.map(one, items))
    return errors


def all_at_once(items: list, action: Callable, what: str) -> None:
    """``at_once``, then one RuntimeError naming every item that failed (``what``: the step)."""
    errors = at_once(items, action)
    if errors:
        raise RuntimeError(f"{what}: " + "; ".join(sorted(errors)))


def restart(found: list, what: str) -> str:
    """The heal of every container fault: each of ``found`` unpaused or started, at once."""
    all_at_once(found, start_if_stopped, what)
    return f"started {len(found)} containers"


def cut_power(found: list, what: str = "power cut") -> list:
    """SIGKILL every running or paused container of ``found`` at the same instant (one thread
    each); return the ones killed. RuntimeError naming each container that could not be killed."""
    victims = [c for c in found if c.status in ("running", "paused")]
    all_at_once(victims, lambda c: c.kill(signal="SIGKILL"), f"{what} incomplete")
    return victims


def names_of(containers: list) -> str:
    """``a, b, c``: the containers' names, sorted."""
    return ", ".join(sorted(c.name for c in containers))
