"""The harness's RTO against a known truth: the ground-truth stack's services answer 503 for exactly
T seconds after SIGUSR1 (truth-3s: T = 3, truth-8s: T = 8; stacks/ground-truth), and the RTO the
harness measures from its history must be T.

What the RTO measures, and why it is T (plus milliseconds):

* The fault's window opens at its ``invoked`` record (``t_inv``), which the runner writes just
  before the ``kill`` fault acts: one Docker API call to find the container by its labels, one
  ``POST /containers/{id}/kill``. The service reads its clock in the signal handler
  (``t_sig``) and answers 503 over ``[t_sig, t_sig + T)``. ``d = t_sig - t_inv`` is the signal's
  delivery: a few milliseconds to a few tens of them.
* The RTO is the *start* time of the first request of the run of >= 5 consecutive successes that
  follows the last failure, minus ``t_inv``. Every request that reaches the service after
  ``t_sig + T`` succeeds, so that request is the first one started after the outage's end, give or
  take the ~1 ms a request needs to reach the service (client -> HAProxy front -> truth). With 5
  users pinging each service every 50 ms at random phases, it comes within ~10 ms of the end
  (at most 50 ms if the phases cluster); call that ``lag``.
* Hence ``RTO = T + d + lag``: an inherent offset, always positive and of the order of 10-100 ms,
  because the RTO is counted from the harness's act (the moment a real fault would strike), not
  from the moment the service noticed. The test checks the ±0.5 s the hypothesis states, and then
  checks the offset itself against the truth's own log (``d`` from its ``outage_start`` record,
  ``lag`` from the history), so a harness that got the RTO right only by luck would not pass.

Clocks: the history holds wall and monotonic times of the host; the service logs both from inside
its container. CLOCK_MONOTONIC and CLOCK_REALTIME are the host kernel's clocks in a container too
(Docker sets up no time namespace); the comparisons below use the wall clock.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chaos import history as history_mod
from chaos.analyze import judge_run
from chaos.reports import validate_journal_shape
from chaos.engine import containers, docker_client
from chaos.stack import find_stack

pytestmark = pytest.mark.integration

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
TOLERANCE_S = 0.5  # the experiment's own hypothesis: T - 0.5 <= rto_s <= T + 0.5
EDGE_S = 0.05  # a request needs ~1 ms to reach the service; this margin only absorbs scheduling noise
MAX_DELIVERY_S = 0.25  # injection record -> signal handler: milliseconds in practice
MAX_LAG_S = 0.2  # outage end -> start of the first ok request: ~10 ms at 100 requests/s


def truth_outages(service: str) -> list[dict]:
    """The ``outage_start`` records the service logged (stdout of its container)."""
    (container,) = containers(docker_client(), find_stack("ground-truth"), service=service)
    lines = container.logs(stdout=True, stderr=False).decode(errors="replace").splitlines()
    records = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("event") == "outage_start":
            records.append(record)
    return records


def test_only_the_entry_point_is_published_on_loopback(chaos_stacks):
    stack = chaos_stacks.use("ground-truth")
    published = []
    for c in containers(docker_client(), stack, all=False):
        for bindings in (c.attrs["NetworkSettings"]["Ports"] or {}).values():
            published += [(c.labels.get("chaos.role"), b["HostIp"], b["HostPort"]) for b in bindings or []]
    assert published == [("entry", "127.0.0.1", "18090")], published


@pytest.mark.parametrize("outage_s", [3, 8])
def test_measured_rto_is_the_known_outage(chaos_run, chaos_runs_dir, outage_s):
    service, control = f"truth-{outage_s}s", f"truth-{11 - outage_s}s"
    journal, code = chaos_run(EXPERIMENTS / f"ground-truth-{outage_s}s.yaml", stack="ground-truth")
    assert validate_journal_shape(journal) == []
    s, c = journal["services"][service], journal["services"][control]

    # The harness's figure is the truth, within the hypothesis's tolerance.
    rto = s["rto_s"]
    assert rto is not None and abs(rto - outage_s) <= TOLERANCE_S, (rto, journal["reasons"])
    assert s["failed"] > 0 and s["unknown"] == 0, s
    # The control was never down: no outage is pinned on the wrong service.
    assert c["rto_s"] == 0 and c["failed"] == 0 and c["unknown"] == 0, c
    assert journal["verdict"] == "pass" and code == 0, journal["reasons"]

    # analyze re-judges the saved folder without Docker and agrees.
    run_dir = Path(chaos_runs_dir) / journal["run_id"]
    again = judge_run(run_dir, write=False)
    assert again["verdict"] == journal["verdict"]
    assert again["services"] == journal["services"]

    # The offset RTO - T, explained by the truth's own log (see the module's docstring).
    history = history_mod.load(run_dir)
    (invoked,) = [f for f in history.faults if f.step == "invoked"]
    stopped = history.mark("load_stopped")
    (truth,) = [o for o in truth_outages(service) if invoked.wall - 1 <= o["start_wall"] <= stopped.wall]
    assert truth["outage_s"] == outage_s
    delivery = truth["start_wall"] - invoked.wall
    assert 0 <= delivery <= MAX_DELIVERY_S, delivery
    ops = [o for o in history.ops if o.service == service]
    # Every request the harness judged matches what the service did at that moment.
    for o in ops:
        if truth["start_wall"] + EDGE_S <= o.start < truth["end_wall"] - EDGE_S:
            assert o.outcome == "fail" and o.status == 503, o
        elif o.start < truth["start_wall"] - EDGE_S or o.start >= truth["end_wall"]:
            assert o.ok, o
    last_failure = max(o.start for o in ops if not o.ok)
    first_ok_after = min(o.start for o in ops if o.start > last_failure)
    lag = first_ok_after - truth["end_wall"]
    assert -EDGE_S <= lag <= MAX_LAG_S, lag
    # The RTO is exactly the truth plus the two offsets (to the precision of the two clocks' pairing).
    assert rto == pytest.approx(outage_s + delivery + lag, abs=0.002), (rto, outage_s, delivery, lag)
    print(f"\n[ground truth] T={outage_s} s: rto_s={rto:.6f} = T + delivery {delivery * 1000:.1f} ms "
          f"+ lag {lag * 1000:.1f} ms; {s['failed']} failed of {s['requests']} requests")
