"""The fire on the real dual-site stack: Pangyo's containers and disks are destroyed under load, the
stack serves from Chuncheon, and Pangyo is rebuilt empty and rejoins (etcd as a new member,
PostgreSQL re-cloned from the surviving primary). And the chained scenario: slowness, then the
power cut."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos import history as history_mod
from chaos.analyze import judge_run
from chaos.reports import validate_journal_shape
from chaos.engine import containers, docker_client

pytestmark = pytest.mark.integration

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"


def test_pangyo_burns_down_fails_over_and_is_rebuilt(chaos_run, chaos_runs_dir, chaos_stack):
    client = docker_client()
    before = {c.name: c.id for c in containers(client, chaos_stack, site="pangyo")}
    journal, code = chaos_run(EXPERIMENTS / "pangyo-site-loss.yaml")
    assert validate_journal_shape(journal) == []
    assert "aborted" not in journal, journal["aborted"]
    for name in ("login", "messaging", "payment"):
        s = journal["services"][name]
        assert s["rto_s"] is not None and s["rto_s"] <= 30, (name, s["rto_s"], journal["reasons"])
        assert s["lost_writes"] == 0, (name, s["lost_ids"])
        assert s["failed"] + s["unknown"] > 0, (name, s)  # the fire was felt
    (fault,) = journal["faults"]
    assert fault["type"] == "site_loss" and fault["heal_ok"], fault
    run_dir = Path(chaos_runs_dir) / journal["run_id"]
    steps = {s.step: s.detail for s in history_mod.load(run_dir).faults}
    assert "destroyed 2 volumes" in steps["done"] and "etcd-pangyo" in steps["done"], steps["done"]
    assert steps["healed"].startswith("rebuilt "), steps["healed"]
    # Rebuilt: every container of pangyo is a new one, running, and etcd has three started members.
    after = {c.name: c for c in containers(client, chaos_stack, site="pangyo")}
    assert set(after) == set(before)
    assert all(after[n].id != before[n] and after[n].status == "running" for n in after), after
    etcd = next(c for c in after.values() if c.labels.get("chaos.role") == "dcs")
    code_, out = etcd.exec_run(["etcdctl", "--endpoints=http://127.0.0.1:2379", "member", "list"])
    members = out.decode().strip().splitlines()
    assert code_ == 0 and len(members) == 3 and all(", started, " in m for m in members), members
    assert journal["verdict"] == "pass", journal["reasons"]
    assert code == 0
    assert judge_run(run_dir, write=False)["verdict"] == journal["verdict"]
