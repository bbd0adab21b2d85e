"""`chaos-harness init-stack`: a compose file checked against the stack contract (no Docker)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from test_cli import cli as harness

from chaos.contract import advice, check, check_folder, seconds_of, skeleton
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
    """The findings, each file named from its folder (check names it as given: here, absolute)."""
    return [str(f).removeprefix(f"{path.parent}/") for f in check(path)]


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
    assert found == [f"compose.yaml: stack.yaml names service billing, but no role-app "
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


def test_a_compose_file_read_twice_is_the_file_as_it_is_now_and_a_copy_each_time(tmp_path):
    """Parsed compose files are kept by their text (one validate of many experiments reads each once):
    what a caller changes in its copy is not in the next read, and a file changed on disk is re-read."""
    from chaos.contract import load_services

    path = write(tmp_path, GOOD)
    first = load_services(path)
    first["app-a"]["healthcheck"]["test"] = ["NONE"]
    first["app-a"]["labels"]["chaos.site"] = "elsewhere"
    assert check(path) == []  # the kept parse was not changed through the first caller's copy
    assert load_services(path)["app-a"]["healthcheck"] == {"test": ["CMD", "true"]}
    changed = {"services": {**GOOD["services"], "app-a": {**GOOD["services"]["app-a"], "restart": "always"}}}
    write(tmp_path, changed)
    assert [f.problem.split(":")[0] for f in check(path)] == ["restart"]


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
    return harness(*args, cwd=ROOT)


STACK_YAML = {"name": None, "project": "chaos-mine", "compose_file": "compose.yaml", "sites": ["a"],
              "entry_url": "http://127.0.0.1:19080", "toxiproxy_url": "http://127.0.0.1:19474", "services": ["orders"],
              "probes": {"orders": "/orders/health"}, "workload": "workload.py", "readback": "readback.py"}


def complete(folder: Path, **changes) -> Path:
    """``folder`` as a whole stack: GOOD's compose file, a valid stack.yaml, a workload and a read-back."""
    folder.mkdir(parents=True, exist_ok=True)
    stack = {**STACK_YAML, "name": folder.name, **changes}
    compose = write(folder, GOOD, {k: v for k, v in stack.items() if v is not None})
    (folder / "workload.py").write_text("# a Locust file\n")
    (folder / "readback.py").write_text("def read_back(base_url, writes):\n    return {}\n")
    return compose


def test_cli_exit_codes_and_messages(tmp_path):
    good = complete(tmp_path / "mine")
    p = cli("init-stack", str(good))
    assert p.returncode == 0 and "nothing missing" in p.stdout, p.stdout
    write(tmp_path / "mine", with_service("db-a", restart="always"))
    p = cli("init-stack", str(good))
    assert p.returncode == 1
    assert "compose.yaml: service db-a: restart: always" in p.stdout and "1 thing(s) missing" in p.stdout
    p = cli("init-stack", str(tmp_path / "absent.yaml"))
    assert p.returncode == 2 and "no such compose file" in p.stderr


def test_write_stack_yaml_drafts_a_skeleton_and_never_overwrites(tmp_path):
    compose = write(tmp_path, GOOD)
    p = cli("init-stack", str(compose), "--write-stack-yaml")
    # drafted, and then checked: the workload and the read-back it names do not exist yet
    assert p.returncode == 1, p.stdout + p.stderr
    assert f"{tmp_path}/stack.yaml: drafted; fill in its TODOs" in p.stdout
    assert "workload: no such file" in p.stdout and "readback: no such file" in p.stdout
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
    from chaos.cli import merged_services
    from chaos.contract import check

    folder = ROOT / "stacks" / name
    named = yaml.safe_load((folder / "stack.yaml").read_text())["compose_file"]
    compose = folder / (named[0] if isinstance(named, list) else named)
    services = merged_services(str(folder), str(compose))  # several files: merged by Compose
    assert (services is not None) == isinstance(named, list)
    assert [str(f) for f in check(compose, services, folder)] == []
    assert [str(f) for f in check_folder(folder, compose, services)] == []


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


# init-stack checks the whole stack folder (issue 18, item 8).


def test_a_folder_without_stack_yaml_workload_or_readback_is_not_nothing_missing(tmp_path):
    """It said "nothing missing" for a compose file alone."""
    write(tmp_path, GOOD)
    p = cli("init-stack", str(tmp_path))
    assert p.returncode == 1, p.stdout
    assert f"{tmp_path}/stack.yaml: missing: the stack's stack.yaml" in p.stdout
    folder = tmp_path / "mine"
    complete(folder)
    (folder / "readback.py").unlink()
    p = cli("init-stack", str(folder))
    assert p.returncode == 1, p.stdout
    line = rf"^{re.escape(str(folder))}/stack.yaml: \d+:\d+: readback: no such file"
    assert re.search(line, p.stdout, re.M), p.stdout


def test_a_stack_yaml_without_probes_is_named(tmp_path):
    folder = tmp_path / "mine"
    complete(folder, probes=None)
    assert [str(f) for f in check_folder(folder, folder / "compose.yaml")] == [
        f"{folder}/stack.yaml: probes: none declared (each service's health path through the entry point, "
        "e.g. {orders: /orders/health}: the steady state)"]


def test_an_invalid_stack_yaml_lists_every_problem_with_its_line(tmp_path):
    folder = tmp_path / "mine"
    complete(folder, entry_url="127.0.0.1:19080", sites="a")
    found = [str(f) for f in check_folder(folder, folder / "compose.yaml")]
    assert any("entry_url: expected an http:// or https:// URL" in f for f in found), found
    assert any(": sites:" in f for f in found), found


def test_a_misspelled_site_or_service_gets_a_did_you_mean(tmp_path):
    write(tmp_path, with_service("app-a", labels={"chaos.site": "pangyoo", "chaos.role": "app",
                                                  "chaos.service": "order"}),
          {"sites": ["pangyo", "chuncheon"], "services": ["orders"]})
    found = problems(tmp_path / "compose.yaml")
    assert any("chaos.site=pangyoo is not a site of stack.yaml; did you mean 'pangyo'?" in f for f in found), found
    assert any("chaos.service=order is not in stack.yaml's services; did you mean 'orders'?" in f for f in found)


def test_files_are_named_as_typed(tmp_path, monkeypatch):
    """It printed mine/compose.yaml for ./stacks/mine/compose.yaml."""
    folder = tmp_path / "stacks" / "mine"
    complete(folder)
    (folder / "compose.yaml").write_text(yaml.safe_dump(with_service("db-a", restart="always")))
    p = harness("init-stack", "./stacks/mine/compose.yaml", cwd=tmp_path)
    assert "./stacks/mine/compose.yaml: service db-a: restart: always" in p.stdout, p.stdout + p.stderr
    p = harness("init-stack", "./stacks/mine", cwd=tmp_path)
    assert "./stacks/mine/compose.yaml: service db-a: restart: always" in p.stdout, p.stdout + p.stderr


def test_a_folder_without_a_compose_file_exits_2(tmp_path):
    p = cli("init-stack", str(tmp_path))
    assert p.returncode == 2 and "no compose file in this folder" in p.stderr


def healthy(test, interval=None, **more) -> dict:
    hc = {"test": test, **({"interval": interval} if interval else {})}
    return {"image": "x", "labels": {"chaos.site": "a", "chaos.role": "db"}, "healthcheck": hc, **more}


def test_advice_warns_on_the_healthchecks_the_guide_advises_against(tmp_path):
    compose = {"services": {
        "py": healthy(["CMD", "python3", "-c", "import sys"], "25s"),
        "fast": healthy(["CMD", "curl", "-f", "http://x"], "5s"),
        "waits": healthy(["CMD", "true"], "27s", depends_on={"py": {"condition": "service_healthy"}}),
        "same": healthy(["CMD", "true"], "25s"),
        "fine": healthy("curl -f http://x", "31s", depends_on=["py"]),
    }}
    found = [str(f) for f in advice(write(tmp_path, compose))]
    assert len(found) == 4, found
    assert any("service py: warning: its healthcheck starts a Python interpreter" in f for f in found)
    assert any("service fast: warning: healthcheck interval 5s" in f for f in found)
    assert any("service waits: warning: waits for py to be healthy" in f for f in found)
    assert any("warning: 2 services check at the same interval (25 s: py, same)" in f for f in found)


def test_warnings_do_not_fail_init_stack(tmp_path):
    folder = tmp_path / "mine"
    complete(folder)
    compose = yaml.safe_load((folder / "compose.yaml").read_text())
    compose["services"]["app-a"]["healthcheck"] = {"test": ["CMD", "python3", "check.py"], "interval": "2s"}
    (folder / "compose.yaml").write_text(yaml.safe_dump(compose))
    p = cli("init-stack", str(folder))
    assert p.returncode == 0, p.stdout
    assert "service app-a: warning: its healthcheck starts a Python interpreter" in p.stdout
    assert "service app-a: warning: healthcheck interval 2s" in p.stdout
    assert "3 warning(s)" in p.stdout and "nothing missing" in p.stdout  # and db-a, front, toxiproxy: 30 s each


def test_the_reference_stack_follows_the_guide():
    assert advice(ROOT / "stacks" / "dual-site" / "compose.yaml") == []


@pytest.mark.parametrize("text, seconds", [("30s", 30), ("1m30s", 90), ("500ms", 0.5), ("1h", 3600), (20, 20),
                                           ("soon", None), ("30", None)])
def test_compose_durations(text, seconds):
    assert seconds_of(text) == seconds
