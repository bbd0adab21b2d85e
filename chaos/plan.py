"""An experiment's timeline in plain words, executing nothing: what ``chaos-harness plan`` prints,
and what a game day shows its participants before the first step.

It reads the faults' declarations only (``chaos.faults.REGISTRY``: no implementation is built, no
Docker SDK or HTTP client imported) and orders them with the runner's own ``schedule.steps_of``, so
the plan shows the steps and times the run takes (at equal times it lists them fault by fault, as
the experiment writes them). Each fault's parameters read as YAML with their units, then what the
fault does (its declaration's doc, which says what users get wrong about its blast radius).
"""

from __future__ import annotations

from chaos.experiment import Experiment
from chaos.faults import REGISTRY
from chaos.reference import param_lines, wrap_doc
from chaos.schedule import HEAL, Planned, steps_of
from chaos.stack import StackDef


def plan_lines(e: Experiment, stack: StackDef) -> list[str]:
    """The plan of ``e`` on ``stack``, one line (or a line and its indented explanation) each."""
    lines = [f"{e.name} on {stack.name}: {e.load.users} users for {e.load.duration_s:g} s "
             f"through {stack.entry_url}; expect {e.expect}"]
    if e.expect_by_stack:
        per_stack = [f"{verdict} on {name}{' (this plan)' if name == stack.name else ''}"
                     for name, verdict in e.expect_by_stack.items()]
        lines.append(f"  expect per stack: {', '.join(per_stack)}")
    end = e.load.duration_s
    faults = [(f"f{i}", Planned(spec, REGISTRY[spec.type])) for i, spec in enumerate(e.faults)]
    rank = {fid: i for i, (fid, _) in enumerate(faults)}
    events = []  # (t, (fault's rank, 0 inject | 1 heal), text): at equal times, fault by fault as written
    for step in steps_of(faults):
        fault, fid = step.fault, step.fault_id
        if step.action != HEAL:
            text = [f"{fid} {fault.type} on {fault.spec.target.describe()}"]
            text += [f"{'':14}{line}" for line in param_lines(fault.decl, fault.spec.params)]
            text += wrap_doc(fault.decl.doc, " " * 14)
            events.append((step.at_s, (rank[fid], 0), "\n".join(text)))
        elif step.at_s < end:
            events.append((step.at_s, (rank[fid], 1), f"{fid} {fault.heal_verb}"))
    for fid, fault in faults:  # the heals that come only with the end of the load
        after, healed = fault.heal_after_s, f"{fid} {fault.heal_verb} when the load ends"
        if after is None:
            events.append((end, (rank[fid], 1), healed))
        elif fault.spec.at_s + after >= end:
            events.append((end, (rank[fid], 1), f"{healed} (its {after:g} s would end at t={fault.spec.at_s + after:g}s)"))
    events.append((end, (len(faults), 0), "load stops; every fault still active is healed"))
    for t, _, text in sorted(events, key=lambda x: x[:2]):
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
