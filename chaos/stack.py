"""A stack: a Docker Compose project under ``stacks/<name>/`` plus its ``stack.yaml``.

The compose file carries the labels (``chaos.site``, ``chaos.role``, ``chaos.service``); ``stack.yaml``
says where the entry point, Toxiproxy, the workload and the read-back are. This module is the
stack's definition (``find_stack``, its links and placement, its published ports) and the commands
the stack itself names (``prepare``, ``steady_state``); reaching its containers is the Docker engine
adapter's job (``chaos.engine``).
"""

from __future__ import annotations

import difflib
import json
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from chaos import contract
from chaos.errors import EnvironmentProblem, InvalidInput, printable
from chaos.engine import compose_files, compose_model, containers, engine_env
from chaos.files import inside, read_input
from chaos.names import name_problem
from chaos.stack_file import read_stack_file
from chaos.toxiproxy import sites_of


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
    # The files Compose merges over compose_file, in -f order (a variant's overrides); see
    # chaos.engine.compose_files.
    compose_overrides: tuple[Path, ...] = ()
    # site -> chaos.engine.EngineSpec: the sites on an engine of their own; every other site is on
    # the environment's engine.
    engines: dict = field(default_factory=dict)


def available_stacks(root: Path | None = None) -> list[str]:
    root = root or stacks_root()
    return sorted(p.parent.name for p in root.glob("*/stack.yaml"))


def is_stack_path(value: str, root: Path | None = None) -> bool:
    """Whether ``value`` (a ``--stack``) is the path of a stack's folder rather than a stack's name: it
    contains a ``/``, or it is no stack of the stacks folder but an existing folder (``.``)."""
    if "/" in value or os.sep in value:
        return True
    try:
        if name_problem(value, "stack name") is None and ((root or stacks_root()) / value / "stack.yaml").is_file():
            return False
        return Path(value).is_dir()
    except (OSError, ValueError):  # too long for a file name, a NUL: no folder, so a (bad) name
        return False


def stack_at(folder: Path, what: str = "stack", typed: str | None = None) -> StackDef:
    """The stack whose folder is ``folder`` (a path, relative to the current folder), wherever it
    lies: its stack.yaml is read as any stack's, the folder's parent taking the stacks folder's part
    (every file of the stack lies under it), so its ``name:`` is its folder's name. ``typed``: the
    path as the user wrote it, for messages."""
    shown = printable(typed if typed is not None else str(folder))
    if not folder.is_dir():
        names = ", ".join(available_stacks()[:2]) or "dual-site"
        raise InvalidInput(f"{what} {shown}: no such folder (give a stack's name, e.g. {names}, "
                           "or the path of a folder with a stack.yaml)")
    path = folder / "stack.yaml"
    if not path.is_file():
        raise InvalidInput(f"{what} {shown}: no stack.yaml in this folder; `chaos-harness init-stack {shown}` "
                           "says what the folder lacks, and --write-stack-yaml drafts one")
    folder = folder.absolute()
    return StackDef(dir=folder, **read_stack_file(path, folder.name, folder.parent))


def find_stack(name: str, root: Path | None = None, what: str = "stack", paths: bool = False) -> StackDef:
    """The stack ``name`` (``what`` names where it was written in messages), whose folder lies under
    the stacks folder, with its ``stack.yaml`` validated: InvalidInput for a bad name or an unknown
    stack, ExperimentInvalid listing every problem of its stack.yaml. With ``paths`` (a ``--stack``
    the user typed), a path (``is_stack_path``: ``--stack ./my-stack``) is the stack of that folder
    (``stack_at``), never joined onto the stacks folder; an experiment's ``stack:`` is a name only."""
    root = root or stacks_root()
    if paths and isinstance(name, str) and is_stack_path(name, root):
        return stack_at(Path(name).expanduser(), what, typed=name)
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
    return StackDef(dir=folder, **read_stack_file(path, name, root))


def links(stack: StackDef) -> set[frozenset[str]] | None:
    """The pairs of sites with a Toxiproxy proxy between them, from the stack's ``toxiproxy_config``;
    None when the stack names none (then links are known only once Toxiproxy answers)."""
    if stack.toxiproxy_config is None:
        return None

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
        if len(compose_files(stack)) > 1:
            return contract.placement_of(compose_model(stack).get("services") or {})
        return contract.placement(stack.compose_file)
    except (RecursionError, MemoryError):
        raise InvalidInput(f"{stack.compose_file}: too deeply nested or too large to read") from None


def published_ports(stack: StackDef) -> set[int]:
    """Host ports the stack's compose files publish (``chaos.engine.compose_model``)."""
    raw = compose_model(stack)
    ports = set()
    for svc in (raw.get("services") or {}).values():
        for p in (svc or {}).get("ports") or []:
            if isinstance(p, dict):  # the long syntax, and Compose's own merged model
                if p.get("published"):
                    ports.add(int(str(p["published"]).split("-")[0]))
            elif str(p).count(":") >= 1:
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


def command_env(stack: StackDef) -> dict[str, str]:
    """The environment of a command the stack names: the harness's, and ``CHAOS_DOCKER_<SITE>``,
    the docker CLI's options that reach each site's engine (``chaos.engine.engine_env``)."""
    return {**os.environ, **engine_env(stack)}


def run_prepare(stack: StackDef, timeout_s: float = 300) -> list[str]:
    """Run the stack's ``prepare`` commands (e.g. a planned switchover back to the usual primary);
    return their output lines. A failing command is an environment problem."""
    out = []
    for command in stack.prepare:
        try:
            p = subprocess.run(command, shell=True, cwd=stack.dir, capture_output=True, text=True,
                               timeout=timeout_s, env=command_env(stack))
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
                               timeout=timeout_s, env=command_env(stack))
            line = ((p.stdout or p.stderr).strip().splitlines() or [f"exit {p.returncode}"])[0]
            results[name] = (p.returncode == 0, line)
        except subprocess.TimeoutExpired:
            results[name] = (False, f"did not answer within {timeout_s:.0f} s")
    return results


STEADY_POLL_S = 2.0  # between two rounds of the steady-state commands


def wait_steady_state(stack: StackDef, timeout_s: float) -> dict[str, tuple[bool, str, float]]:
    """Poll the steady-state commands (every ``STEADY_POLL_S``) until all hold or ``timeout_s``
    passes: name -> (holds, last line, seconds until it first held or until giving up)."""
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
        time.sleep(STEADY_POLL_S)


