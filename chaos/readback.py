"""After recovery: the read-back (which of the acknowledged writes the system still has, asked of
the stack's own ``readback.py``, written to ``readback.json``) and the invariants (the stack's own
``invariants()`` and the steady state after the run, written to ``invariants.json``). Each is a
step of the runner: a failure here makes the checks that need it unknown, never a crash."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Callable

from chaos import history as history_mod
from chaos.checks import invariants as invariants_mod
from chaos.errors import EnvironmentProblem
from chaos.experiment import Experiment
from chaos.files import write_atomic
from chaos.run_folder import INVARIANTS, OK, READBACK, UNKNOWN
from chaos.stack import StackDef


def load_readback(stack: StackDef):
    """The stack's read-back module (``stack.readback``), loaded from its file."""
    spec = importlib.util.spec_from_file_location(f"chaos_stack_readback_{stack.name.replace('-', '_')}",
                                                  stack.readback)
    if spec is None or spec.loader is None:
        raise EnvironmentProblem(f"cannot load read-back {stack.readback}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_back(run_dir: Path, stack: StackDef, say: Callable[[str], None]):
    """Ask the stack which written ids it holds (every write acknowledged or of unknown outcome, per
    service), write ``readback.json``; the read-back module, or None if it could not run."""
    hist = history_mod.load(run_dir)
    writes: dict[str, set[str]] = {}
    for op in hist.ops:
        if op.write_id and op.outcome in (OK, UNKNOWN):
            writes.setdefault(op.service, set()).add(op.write_id)
    n = sum(len(v) for v in writes.values())
    say(f"[read-back] looking for {n} written ids")
    try:
        module = load_readback(stack)
        found = module.read_back(stack.entry_url, {s: sorted(v) for s, v in writes.items()})
    except Exception as e:  # noqa: BLE001 - no read-back means unknown data-loss verdicts, not a crash
        say(f"[read-back] FAILED: {e}; data-loss checks will be unknown")
        return None
    write_atomic(Path(run_dir) / READBACK, json.dumps(found))
    return module


def write_invariants(run_dir: Path, stack: StackDef, experiment: Experiment, module, steady_after: dict,
                     say: Callable[[str], None]) -> None:
    """The stack's own invariants (its read-back's ``invariants()``) and the steady state after
    the run, one file (``invariants.json``): each becomes a check."""
    inv: dict = {}
    for name, (ok, line, took) in steady_after.items():
        inv[f"steady_after[{name}]"] = {
            "holds": ok, "figure": took, "detail": line,
            "threshold": f"holds within recovery_wait_s = {experiment.recovery_wait_s:g} s"}
    if module is not None and hasattr(module, "invariants"):
        try:
            own = invariants_mod.reported(module.invariants(stack.entry_url))
        except Exception as e:  # noqa: BLE001 - reported as unknown, never as a pass
            own = {"stack_invariants": {"holds": None, "detail": f"could not be read: {e}"}}
        for c in invariants_mod.invariant_checks(own):  # judged as journal.json will judge them
            say(f"[invariant] {c.name}: {c.verdict.value} ({c.detail})")
        inv.update(own)
    if inv:
        write_atomic(Path(run_dir) / INVARIANTS, json.dumps(inv))
