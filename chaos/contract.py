"""The stack contract, checked on a compose file without Docker (``chaos-harness init-stack``).

What a Compose project needs before the harness can test it (docs/stack-contract.md), each
finding naming the file and the compose service:

* every service carries ``chaos.site`` and ``chaos.role`` labels; ``chaos.service`` on role ``app``;
* its site is one of the ``sites`` of the ``stack.yaml`` beside the compose file (if there is one),
  or ``wan`` (Toxiproxy) / ``global`` (the entry point); an app's ``chaos.service`` is one of its
  ``services``;
* ports are published only on ``127.0.0.1`` (``127.0.0.1:HOST:CONTAINER``);
* a ``healthcheck`` (readiness is "every healthcheck passes");
* no ``restart`` policy (a power cut must stay cut).

``extends`` (same file or another one) is followed; YAML anchors and merge keys are plain YAML.
``skeleton()`` drafts a ``stack.yaml`` from what the labels already say.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from chaos.errors import InvalidInput
from chaos.files import read_input

SITE, ROLE, SERVICE = "chaos.site", "chaos.role", "chaos.service"
PSEUDO_SITES = ("wan", "global")  # Toxiproxy and the entry point: not sites a fault cuts
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Finding:
    file: str
    service: str | None  # None: about the file as a whole
    problem: str

    def __str__(self) -> str:
        where = f"{self.file}: service {self.service}" if self.service else self.file
        return f"{where}: {self.problem}"


def _load_yaml(path: Path) -> dict:

    text = read_input(Path(path), "compose file")
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise InvalidInput(f"{path}: not valid YAML: {e}") from None
    except (RecursionError, OverflowError, MemoryError, ValueError) as e:
        raise InvalidInput(f"{path}: cannot be read as a compose file ({type(e).__name__})") from None
    if not isinstance(raw, dict):
        raise InvalidInput(f"{path}: not a compose file (the top level is not a mapping)")
    return raw


def load_services(path: Path) -> dict[str, dict]:
    """The compose file's services with ``extends`` resolved (labels merged, other keys overridden)."""
    raw = _load_yaml(path)
    services = raw.get("services")
    if not isinstance(services, dict) or not services:
        raise InvalidInput(f"{path}: no services: mapping")
    cache: dict[Path, dict] = {path.resolve(): services}
    return {name: _resolve(path, name, cache, ()) for name in services}


def _resolve(path: Path, name: str, cache: dict, seen: tuple) -> dict:
    key = (path.resolve(), name)
    if key in seen:
        raise InvalidInput(f"{path}: service {name}: extends loops back to itself")
    services = cache.get(path.resolve())
    if services is None:
        services = _load_yaml(path).get("services") or {}
        cache[path.resolve()] = services
    if name not in services:
        raise InvalidInput(f"{path}: extends names service {name!r}, which is not in that file")
    spec = dict(services[name] or {})
    ext = spec.pop("extends", None)
    if not ext:
        return spec
    if isinstance(ext, str):
        ext = {"service": ext}
    base_path = (path.parent / ext["file"]) if ext.get("file") else path
    base = _resolve(base_path, ext["service"], cache, seen + (key,))
    merged = {**base, **spec}
    if "labels" in base or "labels" in spec:
        merged["labels"] = {**_labels(base.get("labels")), **_labels(spec.get("labels"))}
    return merged


def _labels(raw) -> dict:
    """Labels in either compose form: a mapping, or a list of ``key=value``."""
    if isinstance(raw, dict):
        return {str(k): "" if v is None else str(v) for k, v in raw.items()}
    out = {}
    for item in raw or []:
        k, _, v = str(item).partition("=")
        out[k] = v
    return out


def _bad_ports(ports) -> list[str]:
    """Port entries that publish beyond 127.0.0.1 (or on a host port Docker picks on every interface)."""
    bad = []
    for p in ports or []:
        if isinstance(p, dict):  # long syntax
            if p.get("published") is not None and str(p.get("host_ip", "")) != LOOPBACK:
                bad.append(f"{p.get('published')}:{p.get('target')} (host_ip {p.get('host_ip', 'every interface')})")
            elif p.get("published") is None:
                bad.append(f"{p.get('target')} (no published port: Docker picks one on every interface)")
            continue
        text = str(p)
        parts = text.split(":")
        if len(parts) < 3 or parts[0] != LOOPBACK:
            bad.append(text)
    return bad


def _has_healthcheck(spec: dict) -> bool:
    hc = spec.get("healthcheck")
    if not isinstance(hc, dict) or hc.get("disable"):
        return False
    test = hc.get("test")
    if not test:
        return False
    return not (isinstance(test, list) and test and str(test[0]).upper() == "NONE")


def _restart_policy(spec: dict) -> str | None:
    restart = spec.get("restart")
    if restart not in (None, "no", False):
        return f"restart: {restart}"
    deploy = spec.get("deploy") or {}
    condition = (deploy.get("restart_policy") or {}).get("condition") if isinstance(deploy, dict) else None
    if condition not in (None, "none"):
        return f"deploy.restart_policy.condition: {condition}"
    return None


def placement(compose_file: Path) -> set[tuple[str, str | None]]:
    """(site, service) of every compose service labelled with a site: its ``chaos.site`` and its
    ``chaos.service`` (None when it has none: a database, a router). InvalidInput if unreadable."""
    found = set()
    for spec in load_services(compose_file).values():
        labels = _labels((spec or {}).get("labels")) if isinstance(spec, dict) else {}
        if labels.get(SITE):
            found.add((labels[SITE], labels.get(SERVICE) or None))
    return found


def stack_yaml_beside(compose_file: Path) -> dict | None:
    path = compose_file.parent / "stack.yaml"
    if not path.is_file():
        return None
    raw = _load_yaml(path)
    return raw


def check(compose_file: str | Path) -> list[Finding]:
    """Every way ``compose_file`` falls short of the contract (empty: nothing missing).
    InvalidInput if the file (or its stack.yaml) cannot be read."""
    path = Path(compose_file)
    services = load_services(path)
    stack = stack_yaml_beside(path)
    sites = set(stack.get("sites") or []) if stack else None
    known_services = set(stack.get("services") or []) if stack else None
    f = path.name if stack is None else str(Path(path.parent.name) / path.name)
    findings: list[Finding] = []
    measured: set[str] = set()
    for name, spec in services.items():
        labels = _labels(spec.get("labels"))
        site, role = labels.get(SITE), labels.get(ROLE)
        if not site:
            findings.append(Finding(f, name, f"no {SITE} label (the data center it lives in, e.g. pangyo; "
                                             f"'wan' for Toxiproxy, 'global' for the entry point)"))
        elif sites is not None and site not in sites | set(PSEUDO_SITES):
            findings.append(Finding(f, name, f"{SITE}={site} is not a site of stack.yaml "
                                             f"(sites: {', '.join(sorted(sites))}; or wan / global)"))
        if not role:
            findings.append(Finding(f, name, f"no {ROLE} label (app, db, dcs, router, entry, wan, ...)"))
        if role == "app":
            svc = labels.get(SERVICE)
            if not svc:
                findings.append(Finding(f, name, f"role app without a {SERVICE} label (the service the "
                                                 "workload measures)"))
            else:
                measured.add(svc)
                if known_services is not None and svc not in known_services:
                    findings.append(Finding(f, name, f"{SERVICE}={svc} is not in stack.yaml's services "
                                                     f"({', '.join(sorted(known_services)) or 'none'})"))
        for port in _bad_ports(spec.get("ports")):
            findings.append(Finding(f, name, f"port {port} is published beyond {LOOPBACK}; publish as "
                                             f"'{LOOPBACK}:PORT:PORT'"))
        if not _has_healthcheck(spec):
            findings.append(Finding(f, name, "no healthcheck (the harness waits for every healthcheck "
                                             "before and after an experiment)"))
        policy = _restart_policy(spec)
        if policy:
            findings.append(Finding(f, name, f"{policy}: remove it (a power cut must stay cut; Docker "
                                             "would restart a killed container by itself)"))
    if known_services is not None:
        for svc in sorted(known_services - measured):
            findings.append(Finding(f, None, f"stack.yaml names service {svc}, but no role-app "
                                             f"container carries {SERVICE}={svc}"))
    return findings


def skeleton(compose_file: str | Path) -> str:
    """A ``stack.yaml`` draft from the compose file's labels; the TODOs are what only you know."""
    path = Path(compose_file)
    raw = _load_yaml(path)
    services = load_services(path)
    folder = path.resolve().parent.name
    sites, measured, entry_port, toxi_port = [], [], None, None
    for spec in services.values():
        labels = _labels(spec.get("labels"))
        site = labels.get(SITE)
        if site and site not in PSEUDO_SITES and site not in sites:
            sites.append(site)
        if labels.get(ROLE) == "app" and labels.get(SERVICE) and labels[SERVICE] not in measured:
            measured.append(labels[SERVICE])
        for p in spec.get("ports") or []:
            parts = str(p).split(":") if not isinstance(p, dict) else [LOOPBACK, str(p.get("published")), str(p.get("target"))]
            if len(parts) == 3:
                if labels.get(ROLE) == "entry" and entry_port is None:
                    entry_port = parts[1]
                if labels.get(ROLE) == "wan" and parts[2] == "8474":
                    toxi_port = parts[1]
    project = raw.get("name") or f"chaos-{folder}"
    lines = [
        "# Drafted by `chaos-harness init-stack`; see docs/stack-contract.md. Fill in the TODOs.",
        f"name: {folder}",
        "description: TODO one line on what this stack is",
        f"project: {project}",
        f"compose_file: {path.name}",
        f"sites: [{', '.join(sites)}]",
        f"entry_url: http://127.0.0.1:{entry_port or 'TODO'}",
        f"toxiproxy_url: {'http://127.0.0.1:' + toxi_port if toxi_port else 'null   # no WAN: link faults do not apply'}",
        f"services: [{', '.join(measured)}]",
        "probes:            # steady state: each must answer 200 through entry_url",
    ]
    lines += [f"  {s}: /TODO/{s}/health" for s in measured] or ["  {}"]
    lines += [
        "workload: workload.py     # a Locust file; every request through chaos.load.recorder.request",
        "readback: readback.py     # read_back(base_url, writes) -> {service: {write_id: copies}}",
        "ready_timeout_s: 300",
        "# tasks: [...]            # optional: the workload's tasks an experiment's load.mix may weigh",
        "# toxiproxy_config: config/toxiproxy.json   # optional: its proxies; link faults are checked against them",
        "# prepare: [...]          # optional: shell commands (in this folder) before each experiment",
        "# steady_state: {name: command}   # optional: exit 0 = holds, before the load and after recovery",
        "",
    ]
    return "\n".join(lines)
