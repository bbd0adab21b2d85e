"""The Docker engine adapter: how the harness reaches a stack's containers.

Stacks go up and down through the Compose v2 CLI (its internals are not an API, see ``Compose``);
containers are found by label through the Docker SDK for Python, always within the stack's compose
project (the blast radius, ``containers``), and every SDK call has a timeout (``docker_client``).
Faults, bring-up, recovery and the doctor reach Docker only through this module.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from typing import TYPE_CHECKING, Callable

import yaml

from chaos.errors import EnvironmentProblem

if TYPE_CHECKING:  # the definition of a stack, only as a type: chaos.stack sits above this module
    from chaos.stack import StackDef

PROJECT_LABEL = "com.docker.compose.project"
COMPOSE_SERVICE_LABEL = "com.docker.compose.service"  # the compose service a container was made from
SITE_LABEL = "chaos.site"
ROLE_LABEL = "chaos.role"
SERVICE_LABEL = "chaos.service"
DOCKER_TIMEOUT_S = 30


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


def containers(client, stack: StackDef, *, site: str | None = None, service: str | None = None,
               role: str | None = None, all: bool = True) -> list:
    """This stack's containers, filtered by the harness labels; never anything outside the project."""
    labels = [f"{PROJECT_LABEL}={stack.project}"] + [
        f"{label}={value}" for label, value in ((SITE_LABEL, site), (SERVICE_LABEL, service), (ROLE_LABEL, role))
        if value]
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
