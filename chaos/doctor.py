"""``chaos-harness doctor``: is this machine ready, and if not, the command that fixes each piece."""

from __future__ import annotations

import json
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from chaos.engine import Compose, docker_client
from chaos.errors import ChaosError
from chaos.stack import StackDef, available_stacks, find_stack, published_ports
from chaos.stacks import StackState, holders, survey


@dataclass
class Finding:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def _cmd(*args: str) -> tuple[int, str]:
    try:
        p = subprocess.run(args, capture_output=True, text=True, timeout=15)
        return p.returncode, (p.stdout or p.stderr).strip()
    except (OSError, subprocess.TimeoutExpired) as e:
        return 1, str(e)


def port_free(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) != 0


def missing_secret_files(config: dict) -> list[str]:
    """The ``secrets: {file: ...}`` of a resolved compose config (``docker compose config --format
    json``: paths made absolute) that do not exist: the stack would not start without them."""
    files = [s.get("file") for s in (config.get("secrets") or {}).values() if isinstance(s, dict)]
    return [f for f in files if f and not Path(f).exists()]


def diagnose(stack_name: str = "dual-site") -> list[Finding]:
    findings = []
    rc, out = _cmd("docker", "info", "--format", "{{.ServerVersion}}")
    engine = rc == 0
    findings.append(Finding("docker engine", engine, f"version {out}" if engine else "no engine answers",
                            "make setup   (scripts/bootstrap-docker.sh: installs docker.io, starts dockerd)"))
    rc, out = _cmd("docker", "compose", "version", "--short")
    findings.append(Finding("compose v2 plugin", rc == 0, out if rc == 0 else "`docker compose` missing",
                            "make setup   (installs Debian trixie's docker-compose 2.x, pinned)"))
    try:
        stack = find_stack(stack_name)
    except Exception as e:  # noqa: BLE001
        findings.append(Finding("stack", False, str(e), f"stacks: {', '.join(available_stacks())}"))
        return findings
    for site, spec in stack.engines.items():  # the sites on engines of their own: each must answer
        rc, out = _cmd("docker", *spec.cli_args(), "info", "--format", "{{.ServerVersion}}")
        findings.append(Finding(f"engine of site {site}", rc == 0,
                                f"{spec.host}: version {out}" if rc == 0 else f"{spec.host}: does not answer",
                                "scripts/engines.sh start   (the simulated hosts; for a real host: its docker "
                                "context, `docker --context NAME info`)"))
    if engine:
        images = Compose(stack).images()
        rc, out = _cmd("docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}")
        have = set(out.split())
        missing = [i for i in images if i not in have]
        findings.append(Finding("images", not missing, "all present" if not missing else "missing: " + ", ".join(missing),
                                "make images"))
        rc, out = _cmd(*Compose(stack)._cmd("config", "--format", "json"))
        try:
            missing = missing_secret_files(json.loads(out)) if rc == 0 else [out.splitlines()[-1]]
        except ValueError:
            missing = ["`docker compose config` did not answer JSON"]
        findings.append(Finding("secrets", not missing, "all present" if not missing else "missing: " + ", ".join(missing),
                                "make images   (runs scripts/make-secrets.sh, which makes the stack's secrets once)"))
        rc, out = _cmd(*Compose(stack)._cmd("ps", "-q"))
        running = bool(out.strip())
    else:
        running = False
    ours = our_stacks(stack) if engine else []
    for port in sorted(published_ports(stack)):
        free = port_free(port)
        ok = free or running
        fix = "stop what listens there (ss -ltnp 'sport = :%d')" % port
        if free:
            detail = "free"
        elif running:
            detail = "in use by the running stack"
        elif held := holders(port, ours, but=stack.name):
            detail = "held by " + ", ".join(f"stack {s.name} ({s.state})" for s in held)
            fix = f"chaos-harness down --stack {held[0].name} --keep-volumes   (if nobody is using it; its data stays)"
        else:
            detail = "in use by something else"
        findings.append(Finding(f"port 127.0.0.1:{port}", ok, detail, fix))
    return findings


def our_stacks(stack: StackDef) -> list[StackState]:
    """The survey of the stacks beside ``stack`` (``chaos.stacks``); empty when the engine's SDK
    does not answer (the port is then called in use by something else, as before)."""
    try:
        return survey(docker_client(), stack.dir.parent)
    except ChaosError:
        return []


def render(findings: list[Finding]) -> str:
    lines = []
    for f in findings:
        mark = "ok  " if f.ok else "FAIL"
        lines.append(f"[{mark}] {f.name}: {f.detail}")
        if not f.ok and f.fix:
            lines.append(f"       fix: {f.fix}")
    return "\n".join(lines)
