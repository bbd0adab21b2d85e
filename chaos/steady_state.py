"""The steady state: what must hold before a fault is injected and again after recovery.

Three kinds of evidence, all from the stack's own description: every container running and healthy
(``chaos.stack.wait_healthy``), every probe of ``stack.yaml`` answering 200 through the entry point
(``probes_ok``), and every steady-state command of ``stack.yaml`` exiting 0
(``chaos.stack.wait_steady_state``: one primary, replicas caught up, ...). ``before_experiment``
also runs the stack's ``prepare`` commands first (e.g. a switchover back to the usual primary).
"""

from __future__ import annotations

from typing import Callable

import requests

from chaos.clock import SYSTEM_CLOCK, Clock
from chaos.errors import EnvironmentProblem
from chaos.engine import wait_healthy
from chaos.stack import StackDef, run_prepare, wait_steady_state

PROBE_TIMEOUT_S = 2
BEFORE_TIMEOUT_S = 60  # containers healthy and probes answering, before the experiment
BEFORE_COMMANDS_TIMEOUT_S = 120  # the steady-state commands, before the experiment


def probes_ok(stack: StackDef) -> list[str]:
    """Steady-state probes through the entry point; return the failing ones."""
    bad = []
    for name, path in stack.probes.items():
        try:
            r = requests.get(stack.entry_url + path, timeout=PROBE_TIMEOUT_S)
            if r.status_code != 200:
                bad.append(f"{name}: HTTP {r.status_code}")
        except requests.RequestException as e:
            bad.append(f"{name}: {e.__class__.__name__}")
    return bad


def wait_steady(stack: StackDef, timeout_s: float, clock: Clock = SYSTEM_CLOCK) -> list[str]:
    """Probe once a second until every probe answers or ``timeout_s`` passes; the failing ones."""
    deadline = clock.monotonic() + timeout_s
    while True:
        bad = probes_ok(stack)
        if not bad or clock.monotonic() > deadline:
            return bad
        clock.sleep(1)


def before_experiment(client, stack: StackDef, say: Callable[[str], None],
                      clock: Clock = SYSTEM_CLOCK) -> tuple[list[str], dict]:
    """The stack's ``prepare`` commands, then every container healthy, every probe answering and
    every steady-state command holding; EnvironmentProblem naming what does not. Returns what the
    prepare commands printed and what each steady-state command said (the run's provenance)."""
    prepared = run_prepare(stack)
    for line in prepared:
        say(f"[prepare] {line}")
    bad = wait_healthy(client, stack, BEFORE_TIMEOUT_S) + wait_steady(stack, BEFORE_TIMEOUT_S, clock)
    steady = wait_steady_state(stack, BEFORE_COMMANDS_TIMEOUT_S)
    bad += [f"{n}: {line}" for n, (ok, line, _) in steady.items() if not ok]
    if bad:
        raise EnvironmentProblem("steady state not met before the experiment: " + "; ".join(bad))
    say("[steady] every container healthy, every probe answers")
    return prepared, steady


def after_recovery(stack: StackDef, within_s: float, say: Callable[[str], None],
                   clock: Clock = SYSTEM_CLOCK) -> dict[str, tuple[bool, str, float]]:
    """Wait up to ``within_s`` in all for the probes, then the steady-state commands; what each
    command said: name -> (holds, last line, seconds), which the run's invariants report."""
    say(f"[recovery] waiting up to {within_s:.0f} s for the steady state")
    start = clock.monotonic()
    still_bad = wait_steady(stack, within_s, clock)
    if still_bad:
        say("[recovery] not steady yet: " + "; ".join(still_bad))
    left = max(0.0, within_s - (clock.monotonic() - start))
    held = wait_steady_state(stack, left)
    for name, (ok, line, took) in held.items():
        say(f"[steady after] {name}: {line} ({took:g} s)")
    return held
