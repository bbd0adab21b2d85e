"""``chaos-harness stacks``: every stack of the stacks folder, whether it is up, the host ports it
publishes, and which other of our stacks holds (or would hold) a port it needs. ``doctor`` reads the
same survey to name a port held by another of our stacks as such.

Reads only: containers are listed through the engine adapter (``chaos.engine.containers``, which
never looks outside a stack's compose project); without an engine every stack is still listed, its
state unknown. A stack whose stack.yaml cannot be read is listed with its problem.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from chaos.engine import Engines, containers
from chaos.errors import ChaosError, EnvironmentProblem, printable
from chaos.stack import available_stacks, find_stack, published_ports, stacks_root

UP, DOWN, PARTLY, UNKNOWN = "up", "down", "partly up", "unknown"


@dataclass(frozen=True)
class StackState:
    """One stack: ``state`` is up (every container running), partly up, down (none running) or
    unknown (no engine answered, or the stack could not be read); ``problem`` says why it is unknown."""

    name: str
    project: str = ""
    ports: tuple[int, ...] = ()
    state: str = UNKNOWN
    running: int = 0
    containers: int = 0
    problem: str = ""
    shares: dict[int, tuple[str, ...]] = field(default_factory=dict)  # port -> other stacks publishing it

    @property
    def holds_ports(self) -> bool:
        """Whether its containers may hold its ports now (some of them run)."""
        return self.state in (UP, PARTLY)


def survey(client, root: Path | None = None, engines_for=None) -> list[StackState]:
    """Every stack under ``root`` (default: the stacks folder), by name. ``client``: a Docker SDK
    client, or None when no engine answers (every state is then unknown). A stack whose sites have
    engines of their own is asked through them (``engines_for(stack, client)``, default
    ``Engines.connect``); one of them silent is the stack's problem, named."""
    root = root or stacks_root()
    if engines_for is None:
        def engines_for(stack, default):
            return Engines.connect(stack, default=default) if stack.engines else default
    found = []
    for name in available_stacks(root):
        try:
            stack = find_stack(name, root)
            ports = tuple(sorted(published_ports(stack)))
        except (ChaosError, OSError, ValueError, TypeError, AttributeError) as e:
            first = printable(str(e)).splitlines()[0] if str(e) else type(e).__name__
            found.append(StackState(name, problem=f"cannot be read: {first}"))
            continue
        if client is None:
            found.append(StackState(name, stack.project, ports))
            continue
        try:
            every = containers(engines_for(stack, client), stack)
        except EnvironmentProblem as e:  # a site's own engine does not answer: said with its address
            found.append(StackState(name, stack.project, ports, problem=printable(str(e)).splitlines()[0]))
            continue
        except Exception as e:  # noqa: BLE001 - the engine's own error, shown; the survey goes on
            found.append(StackState(name, stack.project, ports, problem=f"engine error: {type(e).__name__}"))
            continue
        running = sum(1 for c in every if c.status == "running")
        state = DOWN if not running else (UP if running == len(every) else PARTLY)
        found.append(StackState(name, stack.project, ports, state, running, len(every)))
    return _with_shares(found)


def _with_shares(found: list[StackState]) -> list[StackState]:
    out = []
    for s in found:
        shares = {port: tuple(o.name for o in found if o.name != s.name and port in o.ports) for port in s.ports}
        out.append(StackState(**{**s.__dict__, "shares": {p: names for p, names in shares.items() if names}}))
    return out


def holders(port: int, found: list[StackState], but: str) -> list[StackState]:
    """The stacks other than ``but`` that publish ``port`` and run containers now."""
    return [s for s in found if s.name != but and port in s.ports and s.holds_ports]


def _state_text(s: StackState) -> str:
    if s.state == UNKNOWN:
        return f"unknown ({s.problem})" if s.problem else "unknown"
    if s.state == DOWN:
        return "down" if not s.containers else f"down ({s.containers} containers stopped)"
    return f"{s.state} ({s.running}/{s.containers} containers running)"


def render(found: list[StackState], root: Path, engine_problem: str = "") -> str:
    """The survey as lines: a stack a line, then a line per port another stack also publishes."""
    lines = [f"stacks in {root}:"]
    if engine_problem:
        lines.append(f"  (no Docker engine answers: whether a stack is up is unknown; {engine_problem})")
    by_name = {s.name: s for s in found}
    width = max((len(s.name) for s in found), default=0)
    for s in found:
        ports = ", ".join(str(p) for p in s.ports) or "none"
        where = f"  project {s.project}, ports {ports}" if s.project else ""
        lines.append(f"  {s.name:<{width}}  {_state_text(s)}{where}")
        for port, others in sorted(s.shares.items()):
            named = ", ".join(f"{o} ({by_name[o].state})" for o in others)
            held = [o for o in others if by_name[o].holds_ports]
            if held:
                verdict = f": held now by {', '.join(held)}"
            elif all(by_name[o].state == DOWN for o in others):
                verdict = ": not held by them now"
            else:
                verdict = ""
            lines.append(f"  {'':<{width}}    port {port} also published by {named}{verdict}")
    if not found:
        lines.append("  none (a stack is a folder with a stack.yaml)")
    return "\n".join(lines)
