"""What every fault is: an injection and a heal that is safe to repeat, acting only on the
containers of the experiment's own compose project, found by their labels (or, for the WAN, on the
stack's Toxiproxy: ``chaos.faults.link``)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, ClassVar

from chaos.errors import InvalidInput
from chaos.experiment import FaultSpec
from chaos.stack import StackDef, containers

IMPLEMENTATIONS: dict[str, type["Fault"]] = {}


@dataclass
class FaultContext:
    client: object  # docker.DockerClient
    stack: StackDef


class Fault:
    """One scheduled fault. ``heal_after_s``: seconds after injection when the runner heals it
    (None: only at the end of the run, in ``finally``)."""

    type: ClassVar[str]
    needs_toxiproxy: ClassVar[bool] = False  # acts on the stack's Toxiproxy (needs its toxiproxy_url)
    heal_verb: ClassVar[str] = "healed"  # what its heal is called in plans ("rebuilt" for a site loss)
    heal_after_param: ClassVar[str | None] = None  # the parameter holding heal_after_s, if any

    def __init__(self, spec: FaultSpec, ctx: FaultContext):
        self.spec = spec
        self.ctx = ctx

    @property
    def heal_after_s(self) -> float | None:
        return self.spec.params.get(self.heal_after_param) if self.heal_after_param else None

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


def implementation(cls: type[Fault]) -> type[Fault]:
    IMPLEMENTATIONS[cls.type] = cls
    return cls


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
