"""An experiment's timeline in plain words, executing nothing: what ``chaos-harness plan`` prints,
and what a game day shows its participants before the first step."""

from __future__ import annotations

from chaos.experiment import Experiment
from chaos.stack import StackDef


def plan_lines(e: Experiment, stack: StackDef) -> list[str]:
    """The plan of ``e`` on ``stack``, one line (or a line and its indented explanation) each."""
    from chaos.faults import IMPLEMENTATIONS
    from chaos.faults.params import REGISTRY

    lines = [f"{e.name} on {stack.name}: {e.load.users} users for {e.load.duration_s:g} s "
             f"through {stack.entry_url}; expect {e.expect}"]
    if e.expect_by_stack:
        per_stack = [f"{verdict} on {name}{' (this plan)' if name == stack.name else ''}"
                     for name, verdict in e.expect_by_stack.items()]
        lines.append(f"  expect per stack: {', '.join(per_stack)}")
    events = []
    for i, spec in enumerate(e.faults):
        fault = IMPLEMENTATIONS[spec.type](spec, None)
        what = f"f{i} {spec.type} on {spec.target.describe()} {dict(spec.params)}"
        events.append((spec.at_s, f"{what}\n{'':14}{REGISTRY[spec.type].doc}"))
        after, healed = fault.heal_after_s, f"f{i} {fault.heal_verb}"
        if after is None:
            events.append((e.load.duration_s, f"{healed} when the load ends"))
        elif spec.at_s + after < e.load.duration_s:
            events.append((spec.at_s + after, healed))
        else:
            events.append((e.load.duration_s, f"{healed} when the load ends "
                                              f"(its {after:g} s would end at t={spec.at_s + after:g}s)"))
    events.append((e.load.duration_s, "load stops; every fault still active is healed"))
    for t, text in sorted(events, key=lambda x: x[0]):
        lines.append(f"  t={t:6.1f}s  {text}")
    if e.abort_if:
        lines.append("  abort early (the load stops, every fault is healed, the run is judged, "
                     "not_aborted fails) if:")
        lines += [f"    {condition.describe()}" for condition in e.abort_if]
    lines.append(f"  then: wait up to {e.recovery_wait_s:g} s for the steady state, read back every write, judge:")
    for t in e.checks:
        who = f"({t.service})" if t.service else "(every service)"
        lines.append(f"    {t.metric} {t.op} {t.value:g} {who}")
    return lines


def plan_text(e: Experiment, stack: StackDef) -> str:
    return "\n".join(plan_lines(e, stack))
