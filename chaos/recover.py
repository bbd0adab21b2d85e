"""``chaos-harness recover``: heal whatever a harness that died (even by SIGKILL) left behind in a
stack: every toxic removed and proxy enabled (Toxiproxy reset), every container of the compose
project unpaused and started, and every compose service left without a container (a site burnt by
``site_loss`` whose rebuild never ran) recreated. Acts only on the stack's own project; safe to run
any number of times."""

from __future__ import annotations

from chaos.errors import EnvironmentProblem
from chaos.faults.base import at_once, start_if_stopped
from chaos.lock import StackLock
from chaos.engine import Compose, COMPOSE_SERVICE_LABEL, Engines, containers
from chaos.stack import find_stack
from chaos.toxiproxy import Toxiproxy


def missing_services(client, stack) -> list[str]:
    """The stack's compose services that have no container at all, stopped or running."""
    present = {c.labels.get(COMPOSE_SERVICE_LABEL) for c in containers(client, stack)}
    return [name for name in Compose(stack).services() if name not in present]


def recover(stack_name: str, client=None) -> list[str]:
    """Heal the stack; refused (EnvironmentProblem) while a run holds it: its faults are its own to
    heal, and undoing them mid-run would falsify its measurement. ``client``: the stack's engines
    (None: ``Engines.connect``, which names a site whose engine does not answer)."""
    stack = find_stack(stack_name)
    with StackLock(stack.project, f"recover --stack {stack.name}"):
        return _recover(stack, client if client is not None else Engines.connect(stack))


def _recover(stack, client) -> list[str]:
    report = []
    found = containers(client, stack)
    down = [c for c in found if c.status != "running"]
    # Toxiproxy first: the other containers may need the WAN to become healthy.
    wan = [c for c in down if c.labels.get("chaos.role") == "wan"]
    errors = at_once(wan, start_if_stopped) + at_once([c for c in down if c not in wan], start_if_stopped)
    report.append(f"containers: {len(found)} in project {stack.project}, {len(down)} restarted or unpaused"
                  + (f", errors: {'; '.join(errors)}" if errors else ""))
    if stack.toxiproxy_url and found:
        try:
            Toxiproxy(stack.toxiproxy_url).reset()
            report.append("toxiproxy: reset (every proxy enabled, every toxic removed)")
        except Exception as e:  # noqa: BLE001
            report.append(f"toxiproxy: reset failed: {e}")
    # Last: a rebuilt service rejoins through the WAN, which must be whole again.
    missing = missing_services(client, stack) if found else []
    if missing:
        try:
            Compose(stack).up_services(missing)
            report.append(f"rebuilt {len(missing)} services that had no container: {', '.join(missing)}")
        except EnvironmentProblem as e:
            report.append(f"rebuilding {', '.join(missing)} failed: {e}")
    return report
