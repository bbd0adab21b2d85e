"""The stack contract, checked on a compose file without Docker (``chaos-harness init-stack``).

What a Compose project needs before the harness can test it (docs/stack-contract.md), each
finding naming the file and the compose service:

* every service carries ``chaos.site`` and ``chaos.role`` labels; ``chaos.service`` on role ``app``;
* its site is one of the ``sites`` of the ``stack.yaml`` beside the compose file (if there is one),
  or ``wan`` (Toxiproxy) / ``global`` (the entry point); an app's ``chaos.service`` is one of its
  ``services``;
* ports are published only on ``127.0.0.1`` (``127.0.0.1:HOST:CONTAINER``);
* a ``healthcheck`` (readiness is "every healthcheck passes");
* no ``restart`` policy (a power cut must stay cut);
* and, for the stack's folder (``check_folder``), a valid ``stack.yaml`` whose workload and
  read-back exist and which declares probes.

``advice`` warns (never fails) on the healthchecks docs/stack-contract.md advises against.

``extends`` (same file or another one) is followed; YAML anchors and merge keys are plain YAML.
``skeleton()`` drafts a ``stack.yaml`` from what the labels already say.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from chaos.errors import ExperimentInvalid, InvalidInput
from chaos.files import load_yaml
from chaos.stack_file import read_stack_file

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


def load_services(path: Path) -> dict[str, dict]:
    """The compose file's services with ``extends`` resolved (labels merged, other keys overridden)."""
    raw = load_yaml(path)
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
        services = load_yaml(path).get("services") or {}
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
    return placement_of(load_services(compose_file))


def placement_of(services: dict) -> set[tuple[str, str | None]]:
    """``placement`` of a compose model's ``services`` (one file read, or several merged by Compose)."""
    found = set()
    for spec in services.values():
        labels = _labels((spec or {}).get("labels")) if isinstance(spec, dict) else {}
        if labels.get(SITE):
            found.add((labels[SITE], labels.get(SERVICE) or None))
    return found


def stack_yaml_beside(compose_file: Path) -> dict | None:
    path = compose_file.parent / "stack.yaml"
    if not path.is_file():
        return None
    raw = load_yaml(path)
    return raw


def check(compose_file: str | Path, services: dict | None = None, folder: str | Path | None = None) -> list[Finding]:
    """Every way ``compose_file`` falls short of the contract (empty: nothing missing).
    InvalidInput if the file (or its stack.yaml) cannot be read. ``services``: the stack's services
    when several compose files make them (merged by Compose); ``compose_file`` is then the first,
    and ``folder`` the stack's folder (whose stack.yaml applies; default: the compose file's)."""
    path = Path(compose_file)
    services = load_services(path) if services is None else services
    stack = stack_yaml_beside(Path(folder) / path.name if folder is not None else path)
    sites = set(stack.get("sites") or []) if stack else None
    known_services = set(stack.get("services") or []) if stack else None
    f = str(compose_file)  # as the user typed it
    findings: list[Finding] = []
    measured: set[str] = set()
    for name, spec in services.items():
        labels = _labels(spec.get("labels"))
        site, role = labels.get(SITE), labels.get(ROLE)
        if not site:
            findings.append(Finding(f, name, f"no {SITE} label (the data center it lives in, e.g. pangyo; "
                                             f"'wan' for Toxiproxy, 'global' for the entry point)"))
        elif sites is not None and site not in sites | set(PSEUDO_SITES):
            findings.append(Finding(f, name, f"{SITE}={site} is not a site of stack.yaml{_did_you_mean(site, sites)} "
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
                    findings.append(Finding(f, name, f"{SERVICE}={svc} is not in stack.yaml's services"
                                                     f"{_did_you_mean(svc, known_services)} "
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
    raw = load_yaml(path)
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


def _did_you_mean(name: str, known) -> str:
    close = difflib.get_close_matches(name, sorted(str(k) for k in known), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


# The stack folder as a whole ---------------------------------------------------------------------

COMPOSE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")


def compose_file_of(folder: Path) -> Path | None:
    """The compose file of a stack folder: its stack.yaml's ``compose_file`` if that reads, else
    the first of COMPOSE_NAMES present; None if there is none."""
    try:
        raw = stack_yaml_beside(folder / "stack.yaml")
        named = raw.get("compose_file") if isinstance(raw, dict) else None
    except InvalidInput:
        named = None
    if isinstance(named, list) and named and isinstance(named[0], str):  # several: the first is the stack's own
        named = named[0]
    if isinstance(named, str) and (folder / named).is_file():
        return folder / named
    return next((folder / n for n in COMPOSE_NAMES if (folder / n).is_file()), None)


def check_folder(folder: str | Path, compose_file: Path, services: dict | None = None) -> list[Finding]:
    """What the stack folder (``folder``, as typed) lacks beyond its compose file: a stack.yaml,
    valid (every problem, with its line; the workload and the read-back must exist), naming probes,
    naming ``compose_file`` as the file checked, and mapping to engines only sites that ``services``
    (the compose services, when known) label."""
    folder_text = str(folder)
    folder = Path(folder)
    path = folder / "stack.yaml"
    shown = os.path.join(folder_text, "stack.yaml")
    if not path.is_file():
        return [Finding(shown, None, "missing: the stack's stack.yaml (--write-stack-yaml drafts one from "
                                     "the compose file's labels)")]
    try:
        values = read_stack_file(path, folder.absolute().name, folder.absolute().parent)
    except ExperimentInvalid as e:
        return [Finding(shown, None, _problem_text(problem, shown)) for problem in e.problems]
    except InvalidInput as e:
        return [Finding(shown, None, str(e))]
    findings = []
    labelled = {site for site, _ in placement_of(services)} if services is not None else None
    for site in values.get("engines") or {}:
        if labelled is not None and site not in labelled:
            findings.append(Finding(shown, None, f"engines: {site} is no container's {SITE} label "
                                                 f"(sites: {', '.join(sorted(labelled))})"))
    if Path(values["compose_file"]).absolute() != Path(compose_file).absolute():
        findings.append(Finding(shown, None, f"compose_file: names {values['compose_file'].name}, "
                                             f"not the file checked ({compose_file})"))
    if not values.get("probes"):
        findings.append(Finding(shown, None, "probes: none declared (each service's health path through the "
                                             "entry point, e.g. {orders: /orders/health}: the steady state)"))
    return findings


def _problem_text(problem, shown: str) -> str:
    """A stack.yaml problem without its file name (the finding names the file): ``3:7: key: message``."""
    text = str(problem)
    for prefix in (f"{problem.file}:", f"{shown}:"):
        if text.startswith(prefix):
            return text[len(prefix):].lstrip()
    return text


# Healthchecks docs/stack-contract.md advises against: warnings, never failures ---------------------

MIN_INTERVAL_S = 20.0  # the guide: each service its own interval, 20-35 s
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s|us|ns)")
_SECONDS = {"h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
_PYTHON = re.compile(r"(^|[\s/\"'])python[0-9.]*(\s|$)")


def seconds_of(duration) -> float | None:
    """A compose duration (``30s``, ``1m30s``, ``500ms``) in seconds; None if it is not one."""
    if isinstance(duration, (int, float)) and not isinstance(duration, bool):
        return float(duration)
    text = str(duration).strip()
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(n) * _SECONDS[u] for n, u in parts)


def _test_text(test) -> str:
    return " ".join(str(x) for x in test) if isinstance(test, list) else str(test or "")


def advice(compose_file: str | Path, services: dict | None = None) -> list[Finding]:
    """The healthchecks of ``compose_file`` that docs/stack-contract.md advises against (a Python
    interpreter per check, an interval under 20 s, services sharing one interval, a service waiting
    for another to be healthy). InvalidInput if the file cannot be read. ``services``: as ``check``'s."""
    path = Path(compose_file)
    f = str(compose_file)
    found: list[Finding] = []
    intervals: dict[float, list[str]] = {}
    for name, spec in (load_services(path) if services is None else services).items():
        spec = spec if isinstance(spec, dict) else {}
        hc = spec.get("healthcheck")
        if _has_healthcheck(spec):
            if _PYTHON.search(_test_text(hc.get("test"))):
                found.append(Finding(f, name, "warning: its healthcheck starts a Python interpreter (about twice "
                                              "the CPU of curl or a small binary, every check); use curl or a binary"))
            interval = seconds_of(hc.get("interval", "30s"))
            if interval is not None and interval < MIN_INTERVAL_S:
                found.append(Finding(f, name, f"warning: healthcheck interval {hc.get('interval')}: checks this "
                                              "often stall requests on a small machine; 20-35 s is advised"))
            if interval is not None:
                intervals.setdefault(interval, []).append(name)
        depends = spec.get("depends_on")
        if isinstance(depends, dict):
            waits = sorted(str(other) for other, how in depends.items()
                           if isinstance(how, dict) and how.get("condition") == "service_healthy")
            if waits:
                found.append(Finding(f, name, f"warning: waits for {', '.join(waits)} to be healthy "
                                              "(condition: service_healthy costs a whole interval per step); "
                                              "let it retry what it needs instead"))
    for seconds, names in sorted(intervals.items()):
        if len(names) > 1:
            found.append(Finding(f, None, f"warning: {len(names)} services check at the same interval "
                                          f"({seconds:g} s: {', '.join(sorted(names))}), so their checks "
                                          "coincide; give each its own, a second or more apart"))
    return found
