"""Bringing a stack up: the one policy of the runner, ``chaos-harness up``, the nightly suite and
the pytest plugin (``ensure_up``).

1. Every image the compose file names is present (there is no registry to pull from):
   EnvironmentProblem naming the missing ones and ``make images`` otherwise.
2. Another stack that is up and publishes one of this stack's host ports cannot run beside it.
   ``REFUSE`` (a run, ``up``): EnvironmentProblem naming it and how to take it down. ``MAKE_ROOM``
   (the nightly suite, the pytest plugin): it is taken down, under its own stack lock, so a stack a
   run holds is never taken down under that run (the lock refuses, naming the run).
3. ``docker compose up -d --wait`` (unless the caller reuses a running stack), optionally from
   fresh (``down -v`` first), under the stack's lock when the caller does not hold it already.
4. Every container running and healthy, or EnvironmentProblem naming those that are not.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Callable

from chaos.clock import SYSTEM_CLOCK, Clock
from chaos.errors import EnvironmentProblem
from chaos.lock import StackLock
from chaos.engine import Compose, copy_images, missing_images, wait_healthy
from chaos.stack import StackDef, conflicting_stacks, find_stack

REFUSE = "refuse"
MAKE_ROOM = "make room"
CLASH_POLICIES = (REFUSE, MAKE_ROOM)
HEALTH_TIMEOUT_S = 60


def _quiet(_line: str) -> None:
    pass


def check_images(client, stack: StackDef, say: Callable[[str], None] = _quiet) -> None:
    """Every image present on the engine that runs it: one a site's own engine lacks is copied from
    the default engine; one the default engine lacks is EnvironmentProblem (make images)."""
    if getattr(stack, "engines", None):
        copy_images(client, stack, say)
    missing = missing_images(client, stack)
    if missing:
        raise EnvironmentProblem(f"images missing: {', '.join(missing)}; run `make images`")


def resolve_clashes(client, stack: StackDef, policy: str, *, who: str, down_volumes: bool = True,
                    say: Callable[[str], None] = _quiet) -> list[str]:
    """The other stacks up on this stack's host ports: refused (``REFUSE``) or taken down, each
    under its own lock held as ``who`` (``MAKE_ROOM``); the names of those taken down."""
    if policy not in CLASH_POLICIES:
        raise ValueError(f"clash policy {policy!r}: expected one of {', '.join(CLASH_POLICIES)}")
    clashes = conflicting_stacks(client, stack)
    if clashes and policy == REFUSE:
        raise EnvironmentProblem(
            f"stack {', '.join(clashes)} is up and publishes the same ports as {stack.name}; "
            f"take it down first: chaos-harness down --stack {clashes[0]}")
    for name in clashes:
        other = find_stack(name, stack.dir.parent)
        # Under the other stack's lock: a stack another run holds is never taken down under it.
        with StackLock(other.project, f"{who}: make room for {stack.name}"):
            Compose(other).down(volumes=down_volumes)
        say(f"[stack] took down {name}: it is up on the same ports as {stack.name}")
    return clashes


def ensure_up(stack: StackDef, client, *, bring_up: bool = True, clashes: str = REFUSE, fresh: bool = False,
              down_volumes: bool = True, lock_as: str | None = None, who: str = "chaos-harness",
              say: Callable[[str], None] = _quiet, clock: Clock = SYSTEM_CLOCK,
              health_timeout_s: float = HEALTH_TIMEOUT_S) -> list[str]:
    """Make ``stack`` up and healthy (see the module's docstring); the stacks taken down to make room.

    ``bring_up`` False: the stack is expected to run already (``--no-up``); only checked. ``fresh``:
    taken down with its volumes first. ``lock_as``: the stack's lock is taken, described so, for the
    bring-up (None: the caller holds it, as a run does). ``say`` gets one line a step."""
    check_images(client, stack, say)
    taken_down = resolve_clashes(client, stack, clashes, who=who, down_volumes=down_volumes, say=say)
    if bring_up:
        with StackLock(stack.project, lock_as) if lock_as is not None else nullcontext():
            if fresh:
                say(f"[stack] taking down {stack.name} with its volumes first (a fresh start)")
                Compose(stack).down(volumes=True)
            say(f"[stack] bringing up {stack.name} (compose project {stack.project}); "
                f"waits for every healthcheck, up to {stack.ready_timeout_s:.0f} s")
            t = clock.monotonic()
            # An Interrupted raised in here ends the compose CLI's process group (Compose.run).
            Compose(stack).up(progress=lambda line: say(f"[stack] {line}"))
            say(f"[stack] ready in {clock.monotonic() - t:.0f} s")
    bad = wait_healthy(client, stack, health_timeout_s)
    if bad:
        raise EnvironmentProblem(f"stack {stack.name}: not every container is running and healthy after "
                                 f"{health_timeout_s:.0f} s: {'; '.join(bad)}")
    return taken_down
