"""Static checks that the reference stacks keep their control planes closed (no Docker): Toxiproxy's
API on a network no site joins, Patroni's REST API with credentials. The integration tests in
tests/integration/test_mini_system_security.py check the same on the running stack."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose(name: str) -> dict:
    return yaml.safe_load((ROOT / "stacks" / name / "compose.yaml").read_text())


def _networks(spec: dict) -> dict:
    nets = spec.get("networks") or {}
    return {n: {} for n in nets} if isinstance(nets, list) else {n: v or {} for n, v in nets.items()}


@pytest.mark.parametrize("name", ["dual-site", "single-site"])
def test_toxiproxys_api_answers_only_on_a_network_of_its_own(name):
    doc = compose(name)
    services = doc["services"]
    toxi = next(s for s in services.values() if s["labels"]["chaos.role"] == "wan")
    host = next(a.split("=", 1)[1] for a in toxi["command"] if a.startswith("-host="))
    assert host not in ("0.0.0.0", "", "::"), "the API must not listen on every network"
    own = [n for n, v in _networks(toxi).items() if host in (v.get("aliases") or [])]
    assert len(own) == 1, (host, _networks(toxi))
    api_net = own[0]
    members = [svc for svc, spec in services.items() if api_net in _networks(spec)]
    assert members == [next(svc for svc, s in services.items() if s is toxi)], members
    assert not doc["networks"][api_net].get("internal"), "the host must reach the published port"
    assert "127.0.0.1:18474:8474" in toxi["ports"]
    assert host in " ".join(toxi["healthcheck"]["test"])


def test_patroni_rest_api_asks_for_credentials_from_the_stacks_secrets():
    services = compose("dual-site")["services"]
    nodes = {svc: spec for svc, spec in services.items() if "patroni/start.sh" in " ".join(spec.get("command", []))}
    assert set(nodes) == {"pg-pangyo", "pg-chuncheon"}
    for svc, spec in nodes.items():
        assert spec["env_file"] == ["${CHAOS_SECRETS_DIR:-../../.cache/secrets}/patroni.env"], svc
    start = (ROOT / "stacks" / "dual-site" / "config" / "patroni" / "start.sh").read_text()
    assert '${PATRONI_RESTAPI_USERNAME:?' in start and '${PATRONI_RESTAPI_PASSWORD:?' in start
