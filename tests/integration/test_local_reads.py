"""Reads and logins from the local site, on the real dual-site stack (docs/local-reads.md).

Pangyo, holding the primary, loses power. Before Patroni's leader lease lets chuncheon take over
(while pg-chuncheon is still a standby: checked after each read, so the read happened before any
promotion), a person logs in, reads its room and its balance through the entry point, and each
answer holds what it was told was committed before the power cut: served from chuncheon's
synchronous standby, which applied every acknowledged commit (remote_apply). No timing is asserted:
the test only waits, with a bound, for the entry point to stop sending to the dark site.
"""

from __future__ import annotations

import subprocess
import time

import pytest

from chaos.faults.base import cut_power, restart
from chaos.engine import containers, docker_client
from chaos.stack import run_prepare, wait_steady_state
from chaos.steady_state import wait_steady
from mini_system import PASSWORD, Mini

pytestmark = pytest.mark.integration


def in_recovery(stack, node: str) -> bool | None:
    """``pg_is_in_recovery()`` of ``node`` (True: a standby), None if it does not answer."""
    p = subprocess.run(["docker", "compose", "-p", stack.project, "-f", str(stack.compose_file), "exec", "-T",
                        node, "psql", "-U", "postgres", "-h", "/var/run/postgresql", "-d", "mini", "-Atc",
                        "SELECT pg_is_in_recovery()"], capture_output=True, text=True, timeout=20)
    return {"t": True, "f": False}.get(p.stdout.strip()) if p.returncode == 0 else None


def test_logins_and_reads_are_served_by_the_standby_while_the_primarys_site_is_dark(chaos_stack):
    run_prepare(chaos_stack)  # the primary at pangyo, the synchronous standby at chuncheon
    bad = wait_steady(chaos_stack, 180)
    assert not bad, bad
    mini = Mini(chaos_stack.entry_url, timeout_s=2.0)
    alice, bob = mini.user(prefix="lr"), mini.user(prefix="lr")
    room = mini.room(alice, bob)
    sent = mini.call("POST", f"/messaging/rooms/{room}/messages", alice,
                     json={"client_msg_id": f"{room}-m1", "text": "before the fire"})
    assert sent.status_code == 201, sent.text
    paid = mini.call("POST", "/payment/transfers", alice,
                     json={"to_user": bob.name, "amount": 7, "idempotency_key": f"{room}-k1"})
    assert paid.status_code == 201, paid.text
    assert in_recovery(chaos_stack, "pg-chuncheon") is True  # the standby, before the cut

    pangyo = containers(docker_client(), chaos_stack, site="pangyo")
    try:
        cut_power(pangyo)
        answers, deadline = {}, time.monotonic() + 60  # a bound on waiting, not a figure
        while len(answers) < 3 and time.monotonic() < deadline:
            for what, (method, path, body) in {
                    "login": ("POST", "/login/login", {"username": alice.name, "password": PASSWORD}),
                    "read": ("GET", f"/messaging/rooms/{room}/messages?after=0&limit=50", None),
                    "balance": ("GET", "/payment/wallets/me", None)}.items():
                if what in answers:
                    continue
                try:
                    r = mini.call(method, path, None if what == "login" else alice, json=body)
                except Exception:  # noqa: BLE001 - the dark site's connections time out
                    continue
                # Still a standby after the answer: the answer came before any promotion.
                if r.status_code == 200 and in_recovery(chaos_stack, "pg-chuncheon") is True:
                    answers[what] = r
            time.sleep(0.2)
        assert set(answers) == {"login", "read", "balance"}, (
            f"answered by chuncheon's standby before it was promoted: {sorted(answers)}")
        assert answers["login"].json()["token"]
        assert answers["read"].headers["X-Site"] == "chuncheon"
        assert [m["client_msg_id"] for m in answers["read"].json()["messages"]] == [f"{room}-m1"]
        wallet = answers["balance"].json()
        assert wallet["balance"] == 100_000 - 7
        assert wallet["last_transfer_id"] == paid.json()["transfer_id"]
    finally:
        restart(pangyo, "power not restored")
    # pangyo re-joins as the synchronous standby
    assert all(holds for holds, _, _ in wait_steady_state(chaos_stack, timeout_s=300).values())
