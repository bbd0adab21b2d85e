"""Static checks on every shipped stack: the contract the harness relies on (no Docker)."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
import yaml

from chaos.engine import compose_model
from chaos.stack import available_stacks, find_stack, published_ports

ROOT = Path(__file__).resolve().parents[2]
STACKS = available_stacks(ROOT / "stacks")


@functools.cache  # read, never changed, by the tests below
def services(name: str) -> dict:
    """The stack's compose services: its one file, or its files merged by Compose (labels as a mapping)."""
    return compose_model(find_stack(name, ROOT / "stacks"))["services"]


def test_reference_stacks_are_found():
    assert {"dual-site", "single-site"} <= set(STACKS)


@pytest.mark.parametrize("name", STACKS)
def test_ports_are_published_on_loopback_only(name):
    for svc, spec in services(name).items():
        for port in spec.get("ports") or []:
            if isinstance(port, dict):  # Compose's merged model: the long syntax
                port = f"{port.get('host_ip')}:{port.get('published')}:{port.get('target')}"
            host_ip, host_port, container_port = str(port).split(":")
            assert host_ip == "127.0.0.1", (name, svc, port)
            assert host_port == container_port or host_port.isdigit()


@pytest.mark.parametrize("name", STACKS)
def test_every_container_is_labelled_with_a_known_site(name):
    stack = find_stack(name, ROOT / "stacks")
    allowed = set(stack.sites) | {"wan", "global"}
    for svc, spec in services(name).items():
        labels = spec.get("labels") or {}
        assert labels.get("chaos.site") in allowed, (name, svc, labels)
        assert labels.get("chaos.role"), (name, svc)
        if labels.get("chaos.role") == "app":
            assert labels.get("chaos.service") in stack.services, (name, svc)


@pytest.mark.parametrize("name", STACKS)
def test_every_service_has_a_healthcheck_and_no_restart_policy(name):
    for svc, spec in services(name).items():
        assert spec.get("healthcheck", {}).get("test"), (name, svc)
        # A power cut must stay cut: Docker must not restart a killed container by itself.
        assert spec.get("restart", "no") == "no", (name, svc)


def seconds(text: str) -> float:
    return float(text[:-1]) * {"s": 1, "m": 60}[text[-1]]


def test_dual_site_checks_are_rare_staggered_and_never_gate_the_bring_up():
    """Docker healthchecks cost a process each; started together, they fire together and stall the
    requests in flight. dual-site spreads them (distinct intervals, a second apart or more) and no
    service waits for another's check to pass (docs/benchmarks.md, docs/stack-contract.md)."""
    specs = services("dual-site")
    intervals = sorted(seconds(spec["healthcheck"]["interval"]) for spec in specs.values())
    assert len(intervals) == len(specs) and intervals[0] >= 20 and intervals[-1] <= 35
    assert all(b - a >= 1 for a, b in zip(intervals, intervals[1:])), intervals
    for svc, spec in specs.items():
        for dep, cond in (spec.get("depends_on") or {}).items():
            assert cond.get("condition") != "service_healthy", (svc, dep)


def test_published_ports_of_a_compose_file_that_is_not_yaml_is_invalid_input_naming_it(tmp_path):
    from dataclasses import replace

    from chaos.errors import InvalidInput

    compose = tmp_path / "compose.yaml"
    compose.write_text("services: [\n")
    with pytest.raises(InvalidInput, match=f"{compose}: not valid YAML"):  # was a YAMLError's traceback
        published_ports(replace(find_stack("dual-site", ROOT / "stacks"), compose_file=compose))
    compose.write_text("services:\n  a: {ports: ['127.0.0.1:18999:80']}\n")  # changed: read again
    assert published_ports(replace(find_stack("dual-site", ROOT / "stacks"), compose_file=compose)) == {18999}


def test_dual_and_single_site_share_the_entry_point():
    dual, single = (find_stack(n, ROOT / "stacks") for n in ("dual-site", "single-site"))
    assert dual.entry_url == single.entry_url
    assert published_ports(dual) == published_ports(single) == {18080, 18474}


def test_steady_state_commands_report_holds_and_first_line(tmp_path, monkeypatch):
    from dataclasses import replace

    from chaos import stack as stack_mod
    from chaos.stack import steady_state, wait_steady_state

    monkeypatch.setattr(stack_mod, "STEADY_POLL_S", 0.3)  # 2 s between rounds in a run

    stack = replace(find_stack("dual-site", ROOT / "stacks"), dir=tmp_path, steady_state={
        "fine": "echo 'holds: one primary'", "broken": "echo 'does not hold: two primaries'; exit 1"})
    assert steady_state(stack) == {"fine": (True, "holds: one primary"),
                                   "broken": (False, "does not hold: two primaries")}
    # A check that starts holding on its second try: the time it took is reported.
    flag = tmp_path / "flag"
    stack = replace(stack, steady_state={"later": f"test -e {flag} || {{ touch {flag}; exit 1; }}"})
    (holds, _, took), = wait_steady_state(stack, timeout_s=10).values()
    assert holds and took >= 0.3  # the wait between the two rounds is in the time reported
    stack = replace(stack, steady_state={"never": "exit 1"})
    (holds, line, took), = wait_steady_state(stack, timeout_s=0.5).values()
    assert not holds and line == "exit 1"


def test_kv_sentinel_async_shares_every_file_and_flips_only_the_switches():
    safe, unsafe = ROOT / "stacks" / "kv-sentinel", ROOT / "stacks" / "kv-sentinel-async"
    for name in ("compose.yaml", "config", "service"):
        assert (unsafe / name).is_symlink() and (unsafe / name).resolve() == (safe / name).resolve(), name
    env = dict(line.split("=", 1) for line in (unsafe / ".env").read_text().splitlines()
               if line and not line.startswith("#"))
    assert env == {"KV_ACK": "async", "KV_REJOIN_CHECK": "no"}
    a, b = (find_stack(n, ROOT / "stacks") for n in ("kv-sentinel", "kv-sentinel-async"))
    assert a.project != b.project and a.workload == b.workload and a.readback == b.readback
    assert published_ports(a) == published_ports(b) == {18180, 18574}
    dual = find_stack("dual-site", ROOT / "stacks")
    assert not published_ports(a) & published_ports(dual)  # can run beside dual-site


def test_dual_site_no_local_reads_shares_every_file_and_flips_only_where_reads_go():
    local, variant = ROOT / "stacks" / "dual-site", ROOT / "stacks" / "dual-site-no-local-reads"
    for name in ("compose.yaml", "config"):
        assert (variant / name).is_symlink() and (variant / name).resolve() == (local / name).resolve(), name
    env = dict(line.split("=", 1) for line in (variant / ".env").read_text().splitlines()
               if line and not line.startswith("#"))
    assert env == {"DUAL_SITE_READ_DATABASE_URL": ""}  # empty: no READ_DATABASE_URL, reads go to the primary
    apps = {n: s for n, s in services("dual-site").items()
            if (s.get("labels") or {}).get("chaos.role") == "app"}
    assert len(apps) == 6 and all(
        s["environment"]["READ_DATABASE_URL"] == "${DUAL_SITE_READ_DATABASE_URL-postgresql://app:app@dbrouter:5001/mini}"
        for s in apps.values())
    a, b = (find_stack(n, ROOT / "stacks") for n in ("dual-site", "dual-site-no-local-reads"))
    assert a.project != b.project and a.workload == b.workload and a.readback == b.readback
    assert published_ports(a) == published_ports(b) == {18080, 18474}  # one at a time
    assert all(b.project in cmd for cmd in [*b.prepare, *b.steady_state.values()])


def test_dual_site_reads_only_a_primary_or_the_sync_standby_whose_commits_waited_for_apply():
    config = ROOT / "stacks" / "dual-site" / "config"
    cfg = (config / "haproxy" / "dbrouter.cfg").read_text()
    reads = cfg.split("listen reads", 1)[1]
    # Both checks: Patroni says primary or sync standby, and this site's etcd member has a quorum
    # (an isolated standby's Patroni keeps its last view of the DCS).
    assert "bind *:5001" in reads and "http-check send meth GET uri /read-only-sync" in reads
    assert "http-check connect addr 127.0.0.1 port 2399" in reads and "uri /health" in reads
    local_etcd = cfg.split("listen local_etcd", 1)[1].split("listen reads", 1)[0]
    assert "bind 127.0.0.1:2399" in local_etcd and '"${LOCAL_ETCD}"' in local_etcd
    for site in ("pangyo", "chuncheon"):
        router = services("dual-site")[f"dbrouter-{site}"]
        assert router["environment"]["LOCAL_ETCD"] == f"etcd-{site}:2379"
        assert router["labels"]["chaos.site"] == services("dual-site")[f"etcd-{site}"]["labels"]["chaos.site"]
    servers = [line.split() for line in reads.splitlines() if line.strip().startswith("server ")]
    assert [s[1] for s in servers] == ["local", "remote"] and "backup" in servers[1] and "backup" not in servers[0]
    patroni = yaml.safe_load((config / "patroni" / "patroni.yml").read_text())
    assert patroni["postgresql"]["parameters"]["synchronous_commit"] == "remote_apply"
    assert patroni["bootstrap"]["dcs"]["synchronous_mode"] is True
