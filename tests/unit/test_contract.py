"""`chaos-harness init-stack`: a compose file checked against the stack contract (no Docker)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from chaos.contract import check, skeleton
from chaos.errors import InvalidInput
from chaos.stack import available_stacks

ROOT = Path(__file__).resolve().parents[2]

GOOD = {
    "services": {
        "app-a": {"image": "x", "labels": {"chaos.site": "a", "chaos.role": "app", "chaos.service": "orders"},
                  "healthcheck": {"test": ["CMD", "true"]}},
        "db-a": {"image": "x", "labels": ["chaos.site=a", "chaos.role=db"], "restart": "no",
                 "healthcheck": {"test": "true"}},
        "toxiproxy": {"image": "x", "labels": {"chaos.site": "wan", "chaos.role": "wan"},
                      "ports": ["127.0.0.1:19474:8474"], "healthcheck": {"test": ["CMD", "true"]}},
        "front": {"image": "x", "labels": {"chaos.site": "global", "chaos.role": "entry"},
                  "ports": ["127.0.0.1:19080:8080"], "healthcheck": {"test": ["CMD", "true"]}},
    }
}


def write(tmp_path: Path, compose: dict, stack: dict | None = None) -> Path:
    path = tmp_path / "compose.yaml"
    path.write_text(yaml.safe_dump(compose))
    if stack is not None:
        (tmp_path / "stack.yaml").write_text(yaml.safe_dump(stack))
    return path


def problems(path: Path) -> list[str]:
    return [str(f) for f in check(path)]


def with_service(name: str, **changes) -> dict:
    compose = yaml.safe_load(yaml.safe_dump(GOOD))
    compose["services"][name].update(changes)
    return compose


def test_a_complete_compose_file_has_nothing_missing(tmp_path):
    assert problems(write(tmp_path, GOOD)) == []


def test_missing_labels_are_named_by_file_and_service(tmp_path):
    compose = with_service("db-a", labels={"chaos.role": "db"})
    compose["services"]["app-a"]["labels"] = {"chaos.site": "a"}
    found = problems(write(tmp_path, compose))
    assert any(p.startswith("compose.yaml: service db-a: no chaos.site label") for p in found), found
    assert any(p.startswith("compose.yaml: service app-a: no chaos.role label") for p in found), found
    assert len(found) == 2


def test_an_app_without_chaos_service(tmp_path):
    found = problems(write(tmp_path, with_service("app-a", labels={"chaos.site": "a", "chaos.role": "app"})))
    assert found == ["compose.yaml: service app-a: role app without a chaos.service label "
                     "(the service the workload measures)"]


def test_unknown_site_against_the_stack_yaml_beside_it(tmp_path):
    stack = {"name": "t", "sites": ["a", "b"], "services": ["orders"]}
    compose = with_service("db-a", labels={"chaos.site": "mars", "chaos.role": "db"})
    found = problems(write(tmp_path, compose, stack))
    assert len(found) == 1 and "service db-a: chaos.site=mars is not a site of stack.yaml (sites: a, b" in found[0]
    # Without a stack.yaml any site name is accepted.
    (tmp_path / "stack.yaml").unlink()
    assert problems(tmp_path / "compose.yaml") == []


def test_stack_yaml_services_must_match_the_app_labels(tmp_path):
    found = problems(write(tmp_path, GOOD, {"sites": ["a"], "services": ["orders", "billing"]}))
    assert found == [f"{tmp_path.name}/compose.yaml: stack.yaml names service billing, but no role-app "
                     "container carries chaos.service=billing"]


@pytest.mark.parametrize("ports", [["8080:8080"], ["0.0.0.0:8080:8080"], ["8080"],
                                   [{"target": 8080, "published": 8080}]])
def test_ports_beyond_loopback(tmp_path, ports):
    found = problems(write(tmp_path, with_service("front", ports=ports)))
    assert len(found) == 1 and found[0].startswith("compose.yaml: service front: port ")
    assert "published beyond 127.0.0.1" in found[0]


def test_long_syntax_port_on_loopback_is_fine(tmp_path):
    ports = [{"target": 8080, "published": 19080, "host_ip": "127.0.0.1"}]
    assert problems(write(tmp_path, with_service("front", ports=ports))) == []


@pytest.mark.parametrize("healthcheck", [None, {"disable": True}, {"test": ["NONE"]}, {"interval": "2s"}])
def test_missing_healthcheck(tmp_path, healthcheck):
    found = problems(write(tmp_path, with_service("db-a", healthcheck=healthcheck)))
    assert len(found) == 1 and found[0].startswith("compose.yaml: service db-a: no healthcheck")


@pytest.mark.parametrize("change", [{"restart": "always"}, {"restart": "unless-stopped"},
                                    {"deploy": {"restart_policy": {"condition": "on-failure"}}}])
def test_a_restart_policy(tmp_path, change):
    found = problems(write(tmp_path, with_service("db-a", **change)))
    assert len(found) == 1 and found[0].startswith("compose.yaml: service db-a: ")
    assert "a power cut must stay cut" in found[0]


def test_extends_is_followed(tmp_path):
    base = tmp_path / "base"
    base.mkdir()
    write(base, GOOD)
    compose = {"services": {"app-b": {"extends": {"file": "base/compose.yaml", "service": "app-a"},
                                      "labels": {"chaos.site": "b"}}}}
    assert problems(write(tmp_path, compose)) == []
    compose["services"]["app-b"]["labels"] = {"chaos.role": "db"}  # overrides the role, keeps the site
    assert problems(write(tmp_path, compose)) == []


@pytest.mark.parametrize("text", ["services: [unclosed", "just a string", "version: '3'\n"])
def test_unreadable_input_is_invalid(tmp_path, text):
    path = tmp_path / "compose.yaml"
    path.write_text(text)
    with pytest.raises(InvalidInput):
        check(path)


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "chaos", *args], capture_output=True, text=True, cwd=ROOT, timeout=60)


def test_cli_exit_codes_and_messages(tmp_path):
    good = write(tmp_path, GOOD)
    p = cli("init-stack", str(good))
    assert p.returncode == 0 and "nothing missing" in p.stdout
    write(tmp_path, with_service("db-a", restart="always"))
    p = cli("init-stack", str(good))
    assert p.returncode == 1
    assert "compose.yaml: service db-a: restart: always" in p.stdout and "1 thing(s) missing" in p.stdout
    p = cli("init-stack", str(tmp_path / "absent.yaml"))
    assert p.returncode == 2 and "no such compose file" in p.stderr


def test_write_stack_yaml_drafts_a_skeleton_and_never_overwrites(tmp_path):
    compose = write(tmp_path, GOOD)
    p = cli("init-stack", str(compose), "--write-stack-yaml")
    assert p.returncode == 0, p.stdout + p.stderr
    draft = yaml.safe_load((tmp_path / "stack.yaml").read_text())
    assert draft["sites"] == ["a"] and draft["services"] == ["orders"]
    assert draft["entry_url"] == "http://127.0.0.1:19080" and draft["toxiproxy_url"] == "http://127.0.0.1:19474"
    assert draft["project"] == f"chaos-{tmp_path.name}" and draft["compose_file"] == "compose.yaml"
    (tmp_path / "stack.yaml").write_text("name: mine\n")
    p = cli("init-stack", str(compose), "--write-stack-yaml")
    assert "exists; left as it is" in p.stdout
    assert (tmp_path / "stack.yaml").read_text() == "name: mine\n"
    (tmp_path / "stack.yaml").unlink()
    (tmp_path / "stack.yaml").symlink_to(tmp_path / "elsewhere.yaml")  # dangling: not followed
    p = cli("init-stack", str(compose), "--write-stack-yaml")
    assert "exists; left as it is" in p.stdout and not (tmp_path / "elsewhere.yaml").exists()


def test_skeleton_of_a_shipped_stack_names_its_sites_and_services():
    draft = yaml.safe_load(skeleton(ROOT / "stacks" / "kv-sentinel" / "compose.yaml"))
    assert draft["sites"] == ["pangyo", "chuncheon", "witness"] and draft["services"] == ["kv"]
    assert draft["entry_url"] == "http://127.0.0.1:18180"


@pytest.mark.parametrize("name", available_stacks(ROOT / "stacks"))
def test_every_shipped_stack_has_nothing_missing(name):
    stack = yaml.safe_load((ROOT / "stacks" / name / "stack.yaml").read_text())
    assert problems(ROOT / "stacks" / name / stack["compose_file"]) == []


@pytest.mark.parametrize("name", ["/dev/zero", "fifo", "deep.yaml", "huge.yaml"])
def test_init_stack_refuses_what_is_not_a_compose_file_without_hanging(tmp_path, capsys, name):
    """/dev/zero made init-stack read forever; a FIFO waited for a writer; deep nesting was a RecursionError."""
    import os
    import threading

    from chaos.cli import main

    path = Path(name) if name.startswith("/") else tmp_path / name
    if name == "fifo":
        os.mkfifo(path)
    elif name == "deep.yaml":
        path.write_text("services: " + "[" * 5000 + "]" * 5000 + "\n")
    elif name == "huge.yaml":
        path.write_text("# " + "x" * (2 << 20) + "\n")
    result = []
    worker = threading.Thread(target=lambda: result.append(main(["init-stack", str(path)])), daemon=True)
    worker.start()
    worker.join(10)
    assert result == [2], "init-stack hung or did not refuse the file"
    err = capsys.readouterr().err
    assert str(path) in err and "Traceback" not in err
