"""Synthetic run folders for the report tests: what the runner writes, without Docker.

``make_run`` writes experiment.yaml (the shipped pangyo-power-cut, optionally edited), meta.json,
history/*.jsonl (one write per service every ``step_s`` and, every fourth step, a read by the same
client that must reflect its last acknowledged write; a fault invoked at 15 s and healed at 45 s),
readback.json and invariants.json, then judges the folder (journal.json) unless told not to.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping

from chaos.analyze import judge_run
from chaos.reports import iso_utc

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENT = ROOT / "experiments" / "pangyo-power-cut.yaml"
# Its expectation per stack, as the shipped file writes it: pass on dual-site, fail on single-site.
EXPECT_LINE = "expect: {dual-site: pass, single-site: fail, dual-site-no-local-reads: fail, dual-site-engines: pass}"
SERVICES = ("login", "messaging", "payment")
T0 = 1_764_000_000.0  # wall time of the load's start
MONO0 = 5_000.0  # monotonic time of the load's start
FAULT_AT, HEAL_AT = 15.0, 45.0
# What the mini-system's read-back reports (stacks/mini-system/readback.py): figures, all holding.
INVARIANTS = {
    "money_conserved": {"kind": "equals", "value": 0, "expected": 0,
                        "detail": "the sum of every balance: the bank and 12 wallets"},
    "no_negative_wallet": {"kind": "zero", "count": 0, "of": 12, "detail": "wallets with a balance below 0"},
    "steady_after[one_primary_sync_standby]": {"holds": True, "figure": 3.5, "detail": "ok",
                                                "threshold": "holds within recovery_wait_s = 120 s"},
}


def _fault(step: str, at: float) -> dict:
    return {"kind": "fault", "id": "f0", "type": "power_cut", "target": "site=pangyo", "step": step,
            "wall": T0 + at, "mono": MONO0 + at, "detail": ""}


def _mark(name: str, at: float) -> dict:
    return {"kind": "mark", "name": name, "wall": T0 + at, "mono": MONO0 + at}


def make_run(parent: Path, name: str = "run", *, outage_s: Mapping[str, float | None] | None = None,
             lost: Mapping[str, int] | None = None, duration_s: float = 60.0, step_s: float = 0.1,
             stack: str = "dual-site", edit: Mapping[str, str] | None = None,
             judge: bool = True, invariants: Mapping[str, Mapping] | None = None) -> Path:
    """A run folder ``parent/name``.

    ``outage_s``: per service, how long it fails after the fault (None: until the heal); default
    3 s each. ``lost``: per service, how many acknowledged writes the read-back misses.
    ``edit``: text replacements applied to the experiment file (e.g. ``{EXPECT_LINE: "expect: fail"}``).
    Unedited, the run expects what the shipped file expects on ``stack``. ``invariants``: what
    invariants.json holds (default ``INVARIANTS``, all holding).
    """
    outage_s = {s: 3.0 for s in SERVICES} if outage_s is None else outage_s
    run_dir = Path(parent) / name
    (run_dir / "history").mkdir(parents=True)
    text = EXPERIMENT.read_text()
    for old, new in (edit or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    (run_dir / "experiment.yaml").write_text(text)
    ops, readback = [], {s: {} for s in SERVICES}
    for i in range(int(duration_s / step_s)):
        t = round(i * step_s, 6)
        for s in SERVICES:
            out = outage_s.get(s, 0.0)
            failing = FAULT_AT <= t < (HEAL_AT if out is None else FAULT_AT + out)
            # A few timeouts before the fault: indeterminate writes, never counted as lost.
            outcome = "fail" if failing else ("unknown" if i % 97 == 0 and t < FAULT_AT else "ok")
            wid = f"{s}-{i}"
            ops.append({"kind": "op", "service": s, "op": "write", "outcome": outcome, "who": f"{s}-client",
                        "start": T0 + t, "mono": MONO0 + t, "latency": 0.005 + (i % 10) / 1000,
                        "write_id": wid, "status": 200 if outcome == "ok" else 503, "error": None,
                        "proc": 1})
            if outcome != "fail":
                readback[s][wid] = 1
            if i % 4 == 3:  # a read that must reflect the client's last acknowledged write
                last = next((o["write_id"] for o in reversed(ops) if o["service"] == s and o["outcome"] == "ok"
                             and o["mono"] + o["latency"] <= MONO0 + t + 0.002), None)
                ops.append({"kind": "op", "service": s, "op": "read", "outcome": "fail" if failing else "ok",
                            "start": T0 + t + 0.002, "mono": MONO0 + t + 0.002, "latency": 0.003,
                            "write_id": None, "status": 503 if failing else 200, "error": None, "proc": 1,
                            "who": f"{s}-client", "expect": [last] if last else None,
                            "saw": None if failing or not last else [last]})
    for s, n in (lost or {}).items():
        acked = [o["write_id"] for o in ops if o["service"] == s and o["outcome"] == "ok" and o["write_id"]]
        for wid in acked[:n]:
            readback[s][wid] = 0
    faults = [_mark("load_started", 0.0), _fault("invoked", FAULT_AT), _fault("done", FAULT_AT + 0.1),
              _fault("heal_invoked", HEAL_AT), _fault("healed", HEAL_AT + 0.5),
              _mark("load_stopped", duration_s)]
    (run_dir / "history" / "load-1.jsonl").write_text("".join(json.dumps(o) + "\n" for o in ops))
    (run_dir / "history" / "faults.jsonl").write_text("".join(json.dumps(f) + "\n" for f in faults))
    (run_dir / "readback.json").write_text(json.dumps(readback))
    (run_dir / "invariants.json").write_text(json.dumps(invariants if invariants is not None else INVARIANTS))
    (run_dir / "meta.json").write_text(json.dumps({
        "run_id": name, "stack": stack, "services": list(SERVICES),
        "started_at": iso_utc(T0 - 1.0), "finished_at": iso_utc(T0 + duration_s + 30.0),
        "experiment_file": "experiments/pangyo-power-cut.yaml",
        "environment": {"harness": "0.1.0", "python": "3.11", "docker_engine": None}}))
    if judge:
        judge_run(run_dir)
    return run_dir
