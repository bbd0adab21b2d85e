"""A stack: a Docker Compose project under ``stacks/<name>/`` plus its ``stack.yaml``.

The compose file carries the labels (``chaos.site``, ``chaos.role``, ``chaos.service``); ``stack.yaml``
says where the entry point, Toxiproxy, the workload and the read-back are. Stacks go up and down
through the Compose v2 CLI (its internals are not an API); containers are found by label through the
Docker SDK, always within this stack's compose project (the blast radius).
"""

from __future__ import annotations

import difflib
import json
import os
import signal
import subprocess
import time
from typing import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from chaos import contract
from chaos.errors import EnvironmentProblem, InvalidInput, printable
from chaos.toxiproxy import sites_of

PROJECT_LABEL = "com.docker.compose.project"
COMPOSE_SERVICE_LABEL = "com.docker.compose.service"  # the compose service a container was made from
SITE_LABEL = "chaos.site"
ROLE_LABEL = "chaos.role"
SERVICE_LABEL = "chaos.service"
DOCKER_TIMEOUT_S = 30


def stacks_root() -> Path:
    """``$CHAOS_STACKS_DIR``, else ``./stacks``, else the ``stacks/`` beside this package's checkout."""
    env = os.environ.get("CHAOS_STACKS_DIR")
    if env:
        return Path(env)
    here = Path.cwd() / "stacks"
    if here.is_dir():
        return here
    return Path(__file__).resolve().parents[1] / "stacks"


@dataclass(frozen=True)
class StackDef:
    name: str
    dir: Path
    project: str
    compose_file: Path
    sites: tuple[str, ...]
    entry_url: str
    toxiproxy_url: str | None
    services: tuple[str, ...]
    probes: dict
    workload: Path
    readback: Path
    ready_timeout_s: float = 300.0
    description: str = ""
    prepare: tuple[str, ...] = ()  # shell commands run in the stack's folder before each experiment
    steady_state: dict = field(default_factory=dict)  # name -> shell command; exit 0 = holds
    tasks: tuple[str, ...] = ()  # the workload's tasks a load.mix may weigh; empty: it takes no mix
    toxiproxy_config: Path | None = None  # Toxiproxy's proxies (its -config file): which links exist
    # The operations its workload records, per service, and their kind: service -> {op: read | write}.
    operations: dict = field(default_factory=dict)


def available_stacks(root: Path | None = None) -> list[str]:
    root = root or stacks_root()
    return sorted(p.parent.name for p in root.glob("*/stack.yaml"))


def find_stack(name: str, root: Path | None = None, what: str = "stack") -> StackDef:
    """The stack ``name`` (a name, never a path: ``what`` names where it was written in messages),
    whose folder lies under the stacks folder, with its ``stack.yaml`` validated: InvalidInput for a
    bad name or an unknown stack, ExperimentInvalid listing every problem of its stack.yaml."""
    from chaos.faults.params import name_problem  # here: chaos.faults imports this module

    root = root or stacks_root()
    problem = name_problem(name, "stack name") if isinstance(name, str) else "expected a stack name"
    if problem:
        raise InvalidInput(f"{what}: {problem}")
    folder = root / name
    path = folder / "stack.yaml"
    if not path.is_file():
        known = available_stacks(root)
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise InvalidInput(f"unknown stack '{name}'{hint} (stacks in {root}: {', '.join(known) or 'none'})")
    if not inside(folder, root):
        raise InvalidInput(f"stack {name}: its folder {folder} leads to {folder.resolve()}, outside the stacks "
                           f"folder {root.resolve()}; a stack's folder lies under it")
    from chaos.stack_file import read_stack_file

    return StackDef(dir=folder, **read_stack_file(path, name, root))


def inside(path: Path, root: Path) -> bool:
    """Whether ``path``, symlinks followed, lies under ``root``."""
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a symlink loop
        return False


def links(stack: StackDef) -> set[frozenset[str]] | None:
    """The pairs of sites with a Toxiproxy proxy between them, from the stack's ``toxiproxy_config``;
    None when the stack names none (then links are known only once Toxiproxy answers)."""
    if stack.toxiproxy_config is None:
        return None
    from chaos.loader import read_input

    path = stack.toxiproxy_config
    try:
        proxies = json.loads(read_input(path, "Toxiproxy config"))
    except (ValueError, RecursionError) as e:
        raise InvalidInput(f"{path}: not valid JSON: {printable(str(e))[:200]}") from None
    if not isinstance(proxies, list) or not all(isinstance(p, dict) and isinstance(p.get("name"), str)
                                                for p in proxies):
        raise InvalidInput(f"{path}: expected a JSON list of proxies, each with a name")
    return {frozenset(pair) for p in proxies if (pair := sites_of(p["name"])) and pair[0] != pair[1]}


def placement(stack: StackDef) -> set[tuple[str, str | None]]:
    """(site, service) of every container of the stack by its compose labels (service None: not an app)."""
    try:
        return contract.placement(stack.compose_file)
    except (RecursionError, MemoryError):
        raise InvalidInput(f"{stack.compose_file}: too deeply nested or too large to read") from None


def docker_client():
    """A Docker SDK client with a timeout on every call, or EnvironmentProblem saying how to get one."""
    import docker  # imported here: `validate`, `plan` and `analyze` need no Docker

    try:
        client = docker.from_env(timeout=DOCKER_TIMEOUT_S)
        client.ping()
        return client
    except Exception as e:  # noqa: BLE001 - any failure here means "no engine"
        raise EnvironmentProblem(
            f"no Docker engine answers ({e.__class__.__name__}); run `make setup` "
            "(or scripts/bootstrap-docker.sh) to install and start one") from None


class Compose:
    """The Compose v2 CLI for one stack."""

    def __init__(self, stack: StackDef):
        self.stack = stack

    def _cmd(self, *args: str) -> list[str]:
        return ["docker", "compose", "-p", self.stack.project, "-f", str(self.stack.compose_file), *args]

    def run(self, *args: str, timeout: float = 600, check: bool = True,
            progress: Callable[[float], None] | None = None, every_s: float = 5.0) -> subprocess.CompletedProcess:
        """``docker compose ARGS``; EnvironmentProblem when it fails (with ``check``) or outlasts
        ``timeout``. With ``progress``, it is called with the seconds elapsed every ``every_s``."""
        start = time.monotonic()
        # Its own process group: on a timeout or Ctrl-C the CLI and the compose plugin it runs go together.
        proc = subprocess.Popen(self._cmd(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        try:
            while True:
                left = timeout - (time.monotonic() - start)
                try:
                    stdout, stderr = proc.communicate(timeout=max(0.0, min(left, every_s if progress else left)))
                    break
                except subprocess.TimeoutExpired:
                    if time.monotonic() - start >= timeout:
                        raise EnvironmentProblem(f"`docker compose {' '.join(args)}` did not finish in "
                                                 f"{timeout:.0f} s") from None
                    if progress:
                        progress(time.monotonic() - start)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
        done = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
        if check and done.returncode != 0:
            tail = "\n".join((stderr or stdout).strip().splitlines()[-15:])
            raise EnvironmentProblem(f"`docker compose {' '.join(args)}` failed:\n{tail}")
        return done

    def up(self, progress: Callable[[str], None] | None = None, every_s: float = 5.0) -> None:
        """``up -d --wait``; every ``every_s`` seconds meanwhile, ``progress`` gets a line saying how
        many of the stack's containers are healthy (see ``health_line``)."""
        t = int(self.stack.ready_timeout_s)

        def report(elapsed: float) -> None:
            try:
                line = health_line(containers(docker_client(), self.stack))
            except Exception as e:  # noqa: BLE001 - progress is best effort
                line = f"({type(e).__name__} while counting)"
            progress(f"{elapsed:4.0f} s: {line}")

        self.run("up", "-d", "--wait", "--wait-timeout", str(t), timeout=t + 60,
                 progress=report if progress else None, every_s=every_s)

    def down(self, volumes: bool = True) -> None:
        args = ["down", "--remove-orphans", "-t", "5"] + (["-v"] if volumes else [])
        self.run(*args, timeout=300)

    def services(self) -> list[str]:
        """The compose file's services that ``up`` starts (those under a profile are left out)."""
        raw = yaml.safe_load(self.stack.compose_file.read_text()) or {}
        return sorted(name for name, spec in (raw.get("services") or {}).items() if not (spec or {}).get("profiles"))

    def images(self) -> list[str]:
        raw = yaml.safe_load(self.stack.compose_file.read_text())
        return sorted({s["image"] for s in raw.get("services", {}).values() if "image" in s})


def health_line(found: list) -> str:
    """``9/15 healthy; starting: a, b; exited: c``: the containers' states in one line (a container
    without a healthcheck counts as healthy once running)."""
    healthy, others = 0, {}
    for c in found:
        state = c.attrs.get("State") or {}
        if isinstance(state, str):  # a sparse listing: "running", health only in the status text
            text = c.attrs.get("Status") or ""
            status = state
            health = next((h for h in ("unhealthy", "healthy", "starting") if f"({h}" in text), None)
        else:
            status = state.get("Status", c.status)
            health = (state.get("Health") or {}).get("Status")
        if status == "running" and health in (None, "healthy"):
            healthy += 1
        else:
            key = health if status == "running" else status
            others.setdefault(key, []).append(c.labels.get("com.docker.compose.service") or c.name)
    parts = [f"{healthy}/{len(found)} healthy"]
    parts += [f"{k}: {', '.join(sorted(v))}" for k, v in sorted(others.items())]
    return "; ".join(parts)


def published_ports(stack: StackDef) -> set[int]:
    """Host ports the stack's compose file publishes."""
    raw = yaml.safe_load(stack.compose_file.read_text()) or {}
    ports = set()
    for svc in (raw.get("services") or {}).values():
        for p in svc.get("ports") or []:
            ports.add(int(str(p).split(":")[-2]))
    return ports


def conflicting_stacks(client, stack: StackDef) -> list[str]:
    """Other stacks that are up and publish one of this stack's ports (they cannot run together)."""
    mine = published_ports(stack)
    clashes = []
    for name in available_stacks(stack.dir.parent):
        if name == stack.name:
            continue
        other = find_stack(name, stack.dir.parent)
        if mine & published_ports(other) and containers(client, other, all=False):
            clashes.append(name)
    return clashes


def run_prepare(stack: StackDef, timeout_s: float = 300) -> list[str]:
    """Run the stack's ``prepare`` commands (e.g. a planned switchover back to the usual primary);
    return their output lines. A failing command is an environment problem."""
    out = []
    for command in stack.prepare:
        try:
            p = subprocess.run(command, shell=True, cwd=stack.dir, capture_output=True, text=True,
                               timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise EnvironmentProblem(f"prepare step did not finish in {timeout_s:.0f} s: {command}") from None
        if p.returncode != 0:
            raise EnvironmentProblem(f"prepare step failed ({p.returncode}): {command}\n"
                                     f"{(p.stderr or p.stdout).strip()[-2000:]}")
        out.extend(line for line in p.stdout.splitlines() if line.strip())
    return out


def steady_state(stack: StackDef, timeout_s: float = 30) -> dict[str, tuple[bool, str]]:
    """Run each of the stack's steady-state commands once: name -> (holds, first output line)."""
    results = {}
    for name, command in stack.steady_state.items():
        try:
            p = subprocess.run(command, shell=True, cwd=stack.dir, capture_output=True, text=True,
                               timeout=timeout_s)
            line = ((p.stdout or p.stderr).strip().splitlines() or [f"exit {p.returncode}"])[0]
            results[name] = (p.returncode == 0, line)
        except subprocess.TimeoutExpired:
            results[name] = (False, f"did not answer within {timeout_s:.0f} s")
    return results


def wait_steady_state(stack: StackDef, timeout_s: float) -> dict[str, tuple[bool, str, float]]:
    """Poll the steady-state commands until all hold or ``timeout_s`` passes:
    name -> (holds, last line, seconds until it first held or until giving up)."""
    start = time.monotonic()
    done: dict[str, tuple[bool, str, float]] = {}
    while True:
        pending = [n for n in stack.steady_state if n not in done or not done[n][0]]
        if not pending:
            return done
        for name, (holds, line) in steady_state(stack).items():
            if name in pending:
                done[name] = (holds, line, round(time.monotonic() - start, 1))
        if all(done[n][0] for n in stack.steady_state) or time.monotonic() - start > timeout_s:
            return done
        time.sleep(2)


def containers(client, stack: StackDef, *, site: str | None = None, service: str | None = None,
               role: str | None = None, all: bool = True) -> list:
    """This stack's containers, filtered by the harness labels; never anything outside the project."""
    labels = [f"{PROJECT_LABEL}={stack.project}"]
    if site:
        labels.append(f"{SITE_LABEL}={site}")
    if service:
        labels.append(f"{SERVICE_LABEL}={service}")
    if role:
        labels.append(f"{ROLE_LABEL}={role}")
    return client.containers.list(all=all, filters={"label": labels})


def missing_images(client, stack: StackDef) -> list[str]:
    import docker

    missing = []
    for image in Compose(stack).images():
        try:
            client.images.get(image)
        except docker.errors.ImageNotFound:
            missing.append(image)
    return missing


def wait_healthy(client, stack: StackDef, timeout_s: float) -> list[str]:
    """Wait until every container of the stack runs and is healthy; return those that are not."""
    deadline = time.monotonic() + timeout_s
    while True:
        bad = []
        for c in containers(client, stack):
            c.reload()
            health = (c.attrs.get("State", {}).get("Health") or {}).get("Status")
            if c.status != "running" or health not in (None, "healthy"):
                bad.append(f"{c.name} ({c.status}{', ' + health if health else ''})")
        if not bad or time.monotonic() > deadline:
            return bad
        time.sleep(1)
