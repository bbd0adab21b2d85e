"""Each fault on the real dual-site stack: its effect is measurable, and its heal undoes it."""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

from chaos.experiment import FaultSpec, Target
from chaos.faults import IMPLEMENTATIONS, FaultContext
from chaos.engine import containers, docker_client, wait_healthy
from chaos.stack import run_prepare, wait_steady_state
from chaos.steady_state import wait_steady
from chaos.toxiproxy import Toxiproxy

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def fault(stack, type_: str, target: Target, **params):
    from chaos.faults.params import REGISTRY

    decl = REGISTRY[type_]
    full = {p.name: p.default for p in decl.params}
    full.update(params)
    spec = FaultSpec(type=type_, target=target, at_s=0, params=full)
    return IMPLEMENTATIONS[type_](spec, FaultContext(client=docker_client(), stack=stack))


class Client:
    """A signed-up user talking to the entry point."""

    def __init__(self, stack):
        self.base = stack.entry_url
        name = "t" + uuid.uuid4().hex[:12]
        r = requests.post(f"{self.base}/login/signup", json={"username": name, "password": "password123"}, timeout=5)
        r.raise_for_status()
        r = requests.post(f"{self.base}/login/login", json={"username": name, "password": "password123"}, timeout=5)
        self.headers = {"Authorization": f"Bearer {r.json()['token']}"}
        self.acked: list[str] = []  # client message ids the service acknowledged
        # Sending needs membership (rooms are joined by invitation only): its own room, as creator.
        self.room = f"faults-{uuid.uuid4().hex[:12]}"
        r = requests.post(f"{self.base}/messaging/rooms", headers=self.headers, json={"room": self.room}, timeout=5)
        r.raise_for_status()

    def send(self, timeout: float = 5.0) -> float:
        t = time.monotonic()
        msg_id = uuid.uuid4().hex
        r = requests.post(f"{self.base}/messaging/rooms/{self.room}/messages", headers=self.headers, timeout=timeout,
                          json={"client_msg_id": msg_id, "text": "x"})
        if r.status_code >= 400:  # say which site answered what, not only the status
            raise requests.HTTPError(f"{r.status_code} from site {r.headers.get('X-Site', '?')} after "
                                     f"{time.monotonic() - t:.2f} s: {r.text[:200]}", response=r)
        self.acked.append(msg_id)
        return time.monotonic() - t

    def stored_ids(self) -> set[str]:
        """Every client message id the room holds, page by page."""
        ids, after = set(), 0
        while True:
            r = requests.get(f"{self.base}/messaging/rooms/{self.room}/messages", headers=self.headers, timeout=5,
                             params={"after": after, "limit": 200})
            r.raise_for_status()
            page = r.json()
            ids.update(m["client_msg_id"] for m in page["messages"])
            if not page["messages"]:
                return ids
            after = page["next_after"]


def retry_send(client: Client, within_s: float = 30.0) -> None:
    """One send that must succeed within ``within_s`` (the service settling after a heal)."""
    deadline = time.monotonic() + within_s
    while True:
        try:
            client.send()
            return
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def median_send(client: Client, n: int = 12) -> float:
    return statistics.median(client.send() for _ in range(n))


def primaries(stack) -> dict[str, bool]:
    """Which Patroni node says it is the primary (asked inside each container, no published port)."""
    out = {}
    for c in containers(docker_client(), stack, role="db", all=False):
        code, _ = c.exec_run(["curl", "-fsS", "-o", "/dev/null", "--max-time", "2", "http://127.0.0.1:8008/primary"])
        out[c.labels["chaos.site"]] = code == 0
    return out


def settle(stack, timeout_s: float = 180) -> None:
    """Every container healthy and every probe answering through the entry point."""
    bad = wait_healthy(docker_client(), stack, timeout_s) + wait_steady(stack, timeout_s)
    assert not bad, bad


def assert_steady_state(stack, within_s: float) -> None:
    """The stack's own steady state (one primary, a synchronous standby streaming) holds."""
    held = wait_steady_state(stack, within_s)
    assert all(ok for ok, _, _ in held.values()), held


def test_latency_on_the_wan_slows_synchronous_commits_and_heals(chaos_stack):
    settle(chaos_stack)
    client = Client(chaos_stack)
    before = median_send(client)
    f = fault(chaos_stack, "latency", Target(link=("pangyo", "chuncheon")), latency_ms=200, duration_s=60)
    try:
        f.inject()
        toxics = [t for p in Toxiproxy(chaos_stack.toxiproxy_url).proxies().values() for t in p["toxics"]]
        assert len(toxics) == 12  # 6 proxies between the two sites, both streams
        during = median_send(client)
    finally:
        f.heal()
    f.heal()  # twice is harmless
    assert Toxiproxy(chaos_stack.toxiproxy_url).toxics_left() == 0
    after = median_send(client)
    # Each commit waits for the synchronous standby across the link: at least one 200 ms crossing.
    assert during - before >= 0.200, (before, during)
    assert after - before < 0.100, (before, after)


def etcd_leader(stack) -> str:
    """The site whose etcd member leads Raft, as every member sees it (they must agree)."""
    seen = {}
    for c in containers(docker_client(), stack, role="dcs", all=False):
        code, out = c.exec_run(["etcdctl", "--endpoints=http://127.0.0.1:2379", "--command-timeout=3s",
                                "endpoint", "status", "-w", "json"])
        assert code == 0, out
        status = json.loads(out)[0]["Status"]
        seen[c.labels["chaos.site"]] = (status["header"]["member_id"], status["leader"])
    leaders = {leader for _, leader in seen.values()}
    assert len(leaders) == 1, seen
    leader = leaders.pop()
    return next(site for site, (me, _) in seen.items() if me == leader)


def test_prepare_puts_etcds_leader_at_pangyo_from_wherever_it_was(chaos_stack):
    # Hand Raft's leadership to the witness first, with the same script run in the witness's member.
    witness = containers(docker_client(), chaos_stack, role="dcs", site="witness", all=False)[0]
    code, out = witness.exec_run(["sh", "/stack/etcd/prefer-leader.sh"])
    assert code == 0 and etcd_leader(chaos_stack) == "witness", out
    run_prepare(chaos_stack)
    assert etcd_leader(chaos_stack) == "pangyo"
    assert primaries(chaos_stack) == {"pangyo": True, "chuncheon": False}
    run_prepare(chaos_stack)  # again, with nothing to move: harmless
    assert etcd_leader(chaos_stack) == "pangyo"


def test_isolating_pangyo_leaves_exactly_one_primary_at_chuncheon(chaos_stack):
    run_prepare(chaos_stack)  # the primary at pangyo, a synchronous standby streaming
    settle(chaos_stack)
    assert primaries(chaos_stack) == {"pangyo": True, "chuncheon": False}
    client = Client(chaos_stack)
    f = fault(chaos_stack, "isolate", Target(site="pangyo"), duration_s=60)
    try:
        f.inject()
        deadline = time.monotonic() + 45
        seen = None
        while time.monotonic() < deadline:
            seen = primaries(chaos_stack)
            if seen == {"pangyo": False, "chuncheon": True}:
                break
            time.sleep(1)
        assert seen == {"pangyo": False, "chuncheon": True}, seen
        retry_send(client)  # a message chuncheon acknowledged while pangyo was cut off
    finally:
        f.heal()
    settle(chaos_stack)
    assert Toxiproxy(chaos_stack.toxiproxy_url).toxics_left() == 0
    # When the link returns, pangyo's old primary must follow chuncheon, not take the lock back:
    # Patroni 3.0.2 (Debian bookworm) overwrote the leader key after its lease had expired, both
    # sites ran timeline 2, and what chuncheon had acknowledged meanwhile was lost.
    assert_steady_state(chaos_stack, 120)
    assert primaries(chaos_stack) == {"pangyo": False, "chuncheon": True}
    retry_send(client)
    assert set(client.acked) <= client.stored_ids(), set(client.acked) - client.stored_ids()


def test_pause_makes_requests_time_out_not_fail_fast(chaos_stack):
    settle(chaos_stack)
    client = Client(chaos_stack)
    f = fault(chaos_stack, "pause", Target(service="messaging"), duration_s=30)
    try:
        f.inject()
        t = time.monotonic()
        # A frozen service hangs its callers: no answer within the client's timeout. (The entry
        # point may answer 503 once its health checks give up, but never at once.)
        with pytest.raises((requests.Timeout, requests.HTTPError)) as raised:
            client.send(timeout=1.0)
        elapsed = time.monotonic() - t
        assert elapsed >= 0.9, (elapsed, raised.value)  # it hung; a refused connection fails at once
    finally:
        f.heal()
    f.heal()
    assert all(c.status == "running" for c in containers(docker_client(), chaos_stack, service="messaging"))
    settle(chaos_stack)
    retry_send(client)


def test_kill_one_service_at_one_site_and_the_other_site_serves(chaos_stack):
    settle(chaos_stack)
    client = Client(chaos_stack)
    f = fault(chaos_stack, "kill", Target(service="messaging", site="pangyo"))
    try:
        f.inject()
        (c,) = containers(docker_client(), chaos_stack, service="messaging", site="pangyo")
        c.reload()
        assert c.status == "exited"
        time.sleep(2)  # the entry point's health checks (500 ms, fall 2) take it out
        for _ in range(5):
            client.send()
    finally:
        f.heal()
    settle(chaos_stack)


def test_sigkilled_harness_is_recovered_by_chaos_harness_recover(chaos_stack, tmp_path):
    exp = tmp_path / "three-faults.yaml"
    exp.write_text("""
name: three-faults
stack: dual-site
load: {users: 5, spawn_rate: 5, duration_s: 120}
faults:
  - {type: pause, target: {service: payment, site: chuncheon}, at_s: 3, duration_s: 100}
  - {type: latency, target: {link: [pangyo, chuncheon]}, at_s: 3, latency_ms: 100, duration_s: 100}
  - {type: power_cut, target: {site: witness}, at_s: 3, power_returns_after_s: null}
""")
    runs = tmp_path / "runs"
    proc = subprocess.Popen([sys.executable, "-m", "chaos", "run", str(exp), "--no-up", "--runs-dir", str(runs)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 240
    done = 0
    while time.monotonic() < deadline and done < 3:
        time.sleep(1)
        files = list(runs.glob("*/history/faults.jsonl"))
        if files:
            done = sum(1 for line in files[0].read_text().splitlines() if json.loads(line).get("step") == "done")
    assert done == 3, proc.stdout.read() if proc.poll() is not None else "faults not injected in time"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    client = docker_client()
    assert any(c.status == "paused" for c in containers(client, chaos_stack, service="payment"))
    assert Toxiproxy(chaos_stack.toxiproxy_url).toxics_left() > 0
    for _ in range(2):  # recovering twice is harmless
        r = subprocess.run([sys.executable, "-m", "chaos", "recover", "--stack", chaos_stack.name],
                           cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
    assert Toxiproxy(chaos_stack.toxiproxy_url).toxics_left() == 0
    assert all(c.status == "running" for c in containers(client, chaos_stack))
    settle(chaos_stack)


# --- link faults, measured across the link itself: from chuncheon's PostgreSQL container to pangyo's
# Patroni API and PostgreSQL through the proxies "chuncheon.pangyo.*" ("wan" on chuncheon's network).
PATRONI_ACROSS = "http://wan:18001/patroni"
PG_ACROSS = "host=wan port=15431 user=postgres password=postgres dbname=postgres connect_timeout=5"


def across(stack, argv: list[str]) -> tuple[int, float, str]:
    """Run ``argv`` in chuncheon's PostgreSQL container: (exit code, seconds, output)."""
    (c,) = containers(docker_client(), stack, role="db", site="chuncheon")
    t = time.monotonic()
    code, out = c.exec_run(argv)
    return code, time.monotonic() - t, out.decode(errors="replace")


def get_across(stack, max_time_s: float = 5) -> tuple[int, float, str]:
    return across(stack, ["curl", "-sS", "-o", "/dev/null", "--max-time", str(max_time_s), PATRONI_ACROSS])


def fetch_across(stack, kilobytes: int) -> tuple[int, float, str]:
    """``kilobytes`` of data from pangyo's PostgreSQL to chuncheon, across the link."""
    return across(stack, ["timeout", "60", "psql", PG_ACROSS, "-Atc", f"SELECT repeat('x', {kilobytes * 1024})"])


def test_bandwidth_throttles_what_crosses_the_link_and_heals(chaos_stack):
    settle(chaos_stack)
    code, before, out = fetch_across(chaos_stack, 40)
    assert code == 0 and before < 2, (code, before, out)
    f = fault(chaos_stack, "bandwidth", Target(link=("pangyo", "chuncheon")), rate_kbps=64, duration_s=60)
    try:
        f.inject()
        code, during, out = fetch_across(chaos_stack, 40)
    finally:
        f.heal()
    f.heal()
    assert Toxiproxy(chaos_stack.toxiproxy_url).toxics_left() == 0
    code_after, after, _ = fetch_across(chaos_stack, 40)
    # 40 KiB at 64 kbit/s (8 KB/s) takes about 5 s; unthrottled, well under one.
    print(f"\n[bandwidth] 40 KiB across the link: {before:.2f} s before, {during:.2f} s at 64 kbit/s, {after:.2f} s after")
    assert code == 0 and during >= 3.5, (code, during, out)
    assert code_after == 0 and after < 2, after
    settle(chaos_stack)


def test_cut_refuses_connections_across_the_link_at_once_and_heals(chaos_stack):
    settle(chaos_stack)
    assert get_across(chaos_stack)[0] == 0
    f = fault(chaos_stack, "cut", Target(link=("pangyo", "chuncheon")), duration_s=60)
    try:
        f.inject()
        disabled = [n for n, p in Toxiproxy(chaos_stack.toxiproxy_url).proxies().items() if not p["enabled"]]
        code, took, out = get_across(chaos_stack)
    finally:
        f.heal()
    f.heal()
    # The 6 proxies between the two sites, none of the witness's.
    assert sorted(disabled) == sorted(f"{a}.{b}.{w}" for a, b in (("pangyo", "chuncheon"), ("chuncheon", "pangyo"))
                                      for w in ("etcd", "patroni", "pg")), disabled
    assert code != 0 and took < 2, (code, took, out)  # refused, not waited on
    assert all(p["enabled"] for p in Toxiproxy(chaos_stack.toxiproxy_url).proxies().values())
    assert get_across(chaos_stack)[0] == 0
    settle(chaos_stack)


# timeout: a black hole, the caller waits out its own 3 s limit (curl 28, "operation timed out");
# reset_peer: refused at once (curl 52 empty reply / 56 connection reset).
@pytest.mark.parametrize("type_, codes, slow", [("timeout", (28,), True), ("reset_peer", (52, 56), False)])
def test_toxics_that_break_connections_fail_callers_as_described_and_heal(chaos_stack, type_, codes, slow):
    settle(chaos_stack)
    f = fault(chaos_stack, type_, Target(link=("pangyo", "chuncheon")), timeout_ms=0, duration_s=60)
    try:
        f.inject()
        code, took, out = get_across(chaos_stack, max_time_s=3)
    finally:
        f.heal()
    assert code in codes and (took >= 2.9 if slow else took < 2), (code, took, out)
    assert Toxiproxy(chaos_stack.toxiproxy_url).toxics_left() == 0
    assert get_across(chaos_stack)[0] == 0
    settle(chaos_stack)


def test_site_stop_hands_the_primary_over_gracefully_and_the_site_rejoins(chaos_stack):
    run_prepare(chaos_stack)  # the primary at pangyo, a synchronous standby streaming
    settle(chaos_stack)
    client = Client(chaos_stack)
    f = fault(chaos_stack, "site_stop", Target(site="pangyo"), grace_s=10, duration_s=60)
    try:
        f.inject()
        stopped = containers(docker_client(), chaos_stack, site="pangyo")
        assert stopped and all(c.status == "exited" for c in stopped), [(c.name, c.status) for c in stopped]
        # A stopped Patroni releases its lock: chuncheon takes over without waiting out the 20 s ttl.
        t, seen = time.monotonic(), None
        while time.monotonic() - t < 30:
            seen = primaries(chaos_stack)
            if seen == {"chuncheon": True}:
                break
            time.sleep(0.5)
        took = time.monotonic() - t
        print(f"\n[site_stop] chuncheon primary {took:.1f} s after pangyo's graceful stop")
        assert seen == {"chuncheon": True}, seen
        assert took < 15, took
        retry_send(client)  # chuncheon serves the writes
    finally:
        f.heal()
    assert all(c.status == "running" for c in containers(docker_client(), chaos_stack, site="pangyo"))
    settle(chaos_stack)
    assert_steady_state(chaos_stack, 120)  # pangyo re-joined as the synchronous standby
    assert set(client.acked) <= client.stored_ids()


def test_a_decoy_outside_the_project_survives_every_fault_untouched(chaos_stack):
    """Blast radius: a container and a volume that carry the stack's own labels (site, role, service,
    even a compose service name) but belong to no compose project of the stack are never touched,
    whichever fault runs on their site. Faults hit chuncheon (the standby site): no failover."""
    from chaos.faults.params import REGISTRY

    settle(chaos_stack)
    client = docker_client()
    tag = uuid.uuid4().hex[:8]
    labels = {"chaos.site": "chuncheon", "chaos.role": "app", "chaos.service": "messaging",
              "com.docker.compose.service": "messaging-chuncheon"}
    volume = client.volumes.create(f"decoy-{tag}", labels=labels)
    decoy = client.containers.run("chaos-harness/platform:dev", ["sleep", "3600"], name=f"decoy-{tag}",
                                  labels=labels, volumes={volume.name: {"bind": "/data", "mode": "rw"}},
                                  detach=True)
    try:
        decoy.reload()
        before = (decoy.id, decoy.attrs["State"]["StartedAt"], decoy.attrs["State"]["Pid"])
        link = Target(link=("pangyo", "chuncheon"))
        site = Target(site="chuncheon")
        plans = [("pause", site, {"duration_s": 30}), ("kill", Target(service="messaging", site="chuncheon"), {}),
                 ("site_stop", site, {"grace_s": 1, "duration_s": 30}),
                 ("power_cut", site, {"power_returns_after_s": 30}),
                 ("site_loss", site, {"rebuild_after_s": 30}), ("isolate", site, {"duration_s": 30}),
                 ("latency", link, {"latency_ms": 50, "duration_s": 30}),
                 ("bandwidth", link, {"rate_kbps": 64, "duration_s": 30}), ("cut", link, {"duration_s": 30}),
                 ("timeout", link, {"duration_s": 30}), ("reset_peer", link, {"duration_s": 30})]
        # engine_loss acts only on a site with an engine of its own: its decoy is in
        # test_separate_engines.py::test_a_declared_engine_loss_of_pangyo_gets_the_verdict_of_a_power_cut.
        on_own_engine = {"engine_loss"}
        assert {p[0] for p in plans} | on_own_engine == set(REGISTRY), "a fault type is missing from the decoy test"
        for type_, target, params in plans:
            f = fault(chaos_stack, type_, target, **params)
            try:
                f.inject()
                decoy.reload()
                assert decoy.status == "running", (type_, decoy.status)
            finally:
                f.heal()
            decoy.reload()
            now = (decoy.id, decoy.attrs["State"]["StartedAt"], decoy.attrs["State"]["Pid"])
            assert decoy.status == "running" and now == before, (type_, decoy.status, before, now)
            assert client.volumes.get(volume.name).name == volume.name, type_
    finally:
        decoy.remove(force=True)
        volume.remove(force=True)
    settle(chaos_stack)
    assert_steady_state(chaos_stack, 180)  # chuncheon rebuilt and re-joined
