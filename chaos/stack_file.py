"""``stack.yaml``, read like an experiment (with ``chaos.loader.Reader``): every problem of the file at
once, each with its line, column and key; nothing runs on an invalid one. The format, by example::

    name: dual-site                  # required: the stack's folder name (a name, see NAME_PATTERN)
    description: ...                 # optional prose
    project: chaos-dual-site         # required: the compose project (a name)
    compose_file: compose.yaml       # required: a file under the stacks folder, or a list of them
                                     # (Compose merges them in order: a variant's overrides last)
    sites: [pangyo, chuncheon]       # required: names, at least one
    services: [orders, billing]      # required: names (the chaos.service labels)
    entry_url: http://127.0.0.1:18080
    toxiproxy_url: http://127.0.0.1:18474   # optional; null: no WAN faults
    toxiproxy_config: config/toxiproxy.json # optional: Toxiproxy's -config, which links have proxies
    workload: ../mini-system/workload.py    # required: a file under the stacks folder
    readback: ../mini-system/readback.py    # required: a file under the stacks folder
    tasks: [send, pay]               # optional: the workload's tasks a load.mix may weigh
    operations:                      # optional: the ops the workload records, per service, and
      orders: {create: write, list: read}  # their kind (read | write: a write carries a write_id)
    probes: {orders: /orders/health} # optional: name -> path through the entry point
    prepare: [sh prefer-primary.sh]  # optional: shell commands
    steady_state: {ok: sh check.sh}  # optional: name -> shell command
    ready_timeout_s: 300             # optional, seconds
    engines:                         # optional: the sites on a Docker engine of their own (a host)
      pangyo: unix:///run/chaos-engines/pangyo/docker.sock   # a Docker host URL, or a context name
      chuncheon: {host: ssh://ops@10.0.2.11, stop: "...", start: "..."}  # engine_loss runs stop/start

Every path (compose file, workload, read-back, Toxiproxy config) must lie under the stacks folder:
the harness runs the compose file, imports the read-back and runs Locust on the workload.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from yaml.nodes import MappingNode, Node, SequenceNode

from chaos.engine import EngineSpec
from chaos.errors import ExperimentInvalid
from chaos.faults.params import Param
from chaos.names import name_problem
from chaos.files import inside, read_input
from chaos.loader import Reader
from chaos.run_folder import OP_KINDS

_STACK_PARAMS = (
    Param("name", "str", required=True, names="stack name", doc="The stack's name: its folder's name."),
    Param("description", "str", default=""),
    Param("project", "str", required=True, names="compose project name"),
    Param("entry_url", "str", required=True, doc="The global entry point, http://127.0.0.1:PORT."),
    Param("toxiproxy_url", "str", doc="Toxiproxy's API, http://127.0.0.1:PORT; omit or null: no WAN faults."),
    Param("toxiproxy_config", "str", doc="Toxiproxy's -config file (JSON): which links have proxies."),
    Param("workload", "str", required=True, doc="The Locust workload, a path under the stacks folder."),
    Param("readback", "str", required=True, doc="The read-back module, a path under the stacks folder."),
    Param("ready_timeout_s", "duration", default=300.0, above=0),
)
_STACK_NAME_LISTS = {"sites": "site", "services": "service", "tasks": "task name"}
_STACK_MAPPINGS = ("probes", "steady_state")  # name -> string
_STACK_KEYS = (*(p.name for p in _STACK_PARAMS), "compose_file", *_STACK_NAME_LISTS, *_STACK_MAPPINGS, "prepare",
               "operations", "engines")
_STACK_REQUIRED = ("name", "project", "compose_file", "sites", "entry_url", "services", "workload", "readback")
_STACK_PATHS = ("toxiproxy_config", "workload", "readback")
_RESOLVED = ("workload", "readback")
_COMMAND = Param("command", "str", required=True)
_OPERATION = Param("operation", "str", required=True, names="operation")
_COMPOSE_FILE = Param("compose_file", "str", required=True,
                      doc="The compose file, relative to the stack's folder (or a list: merged in order).")
_ENGINE_HOST = Param("host", "str", required=True,
                     doc="A Docker host URL (unix://, tcp://, ssh://) or the name of a docker context")
_ENGINE_COMMAND = Param("command", "str")
_ENGINE_KEYS = ("host", "stop", "start")
_ENGINE_SCHEMES = ("unix://", "tcp://", "ssh://", "http://", "https://")
_OP_KIND = Param("kind", "str", required=True, choices=OP_KINDS,
                 doc="read, or write: a request that carries a write_id")


def read_stack_file(path: Path, name: str, root: Path) -> dict[str, Any]:
    """The values of the stack.yaml at ``path`` of the stack ``name`` (files as paths, lists as
    tuples), as ``StackDef`` takes them; ExperimentInvalid lists every problem."""
    reader = Reader(str(path))
    node = reader.compose(read_input(path, "stack file"), "a mapping with name, project, sites, services...")
    values = reader.guarded(lambda n: _stack_values(reader, n, name, path.parent, root), node) if node else None
    if reader.problems or values is None:
        raise ExperimentInvalid(reader.sorted_problems())
    values["entry_url"] = values["entry_url"].rstrip("/")
    return values


def _stack_values(reader: Reader, root_node: Node, name: str, folder: Path, root: Path) -> dict | None:
    """stack.yaml's values by key; None if anything is wrong (reported)."""
    nodes = reader.section(root_node, "", _STACK_KEYS, _STACK_REQUIRED)
    if nodes is None:
        return None
    values = {p.name: reader.field(nodes, p, "") for p in _STACK_PARAMS}
    if values["name"] is not None and values["name"] != name:
        reader.report(nodes["name"], "name", f"expected the stack's folder name {name!r}, got {values['name']!r}")
    for key in ("entry_url", "toxiproxy_url"):
        url = values[key]
        if url is not None and not url.startswith(("http://", "https://")):
            reader.report(nodes[key], key, f"expected an http:// or https:// URL, got {url!r}")
    files = _compose_files(reader, nodes.get("compose_file"), folder, root)
    values["compose_file"], values["compose_overrides"] = (files[0], files[1:]) if files else (None, ())
    values["engines"] = _engines(reader, nodes.get("engines"))
    for key in _STACK_PATHS:
        if values[key] is not None:
            values[key] = _stack_file(reader, nodes[key], key, values[key], folder, root)
    for key, noun in _STACK_NAME_LISTS.items():
        values[key] = reader.names(nodes[key], key, noun) if key in nodes else ()
    if "sites" in nodes and values["sites"] == ():
        reader.report(nodes["sites"], "sites", "expected at least one site")
    for key in _STACK_MAPPINGS:
        values[key] = _commands(reader, nodes.get(key), key)
    items = reader.sequence(nodes["prepare"], "prepare") if "prepare" in nodes else []
    values["prepare"] = tuple(reader.value(item, f"prepare[{i}]", _COMMAND) for i, item in enumerate(items or ()))
    values["operations"] = _operations(reader, nodes.get("operations"), values["services"])
    return None if reader.problems else values


def _stack_file(reader: Reader, node: Node, key: str, value: str, folder: Path, root: Path) -> Path | None:
    """The file ``value`` (relative to the stack's folder); None (reported) when it lies outside the
    stacks folder, symlinks followed (its read-back would be imported, its compose file run), or is
    missing. The workload and the read-back are resolved (as they always were); the compose file is
    kept as written: Compose reads the ``.env`` beside the path it is given, and kv-sentinel-async's
    compose.yaml is a symlink to kv-sentinel's, beside its own .env (KV_ACK=async)."""
    path = folder / value
    if not inside(path, root):
        reader.report(node, key, f"{value!r} lies outside the stacks folder {root}; a stack's files stay under it")
        return None
    resolved = path.resolve()
    if not resolved.is_file():
        reader.report(node, key, f"no such file: {resolved}")
        return None
    return resolved if key in _RESOLVED else path


def _compose_files(reader: Reader, node: Node | None, folder: Path, root: Path) -> tuple[Path, ...]:
    """``compose_file``: one file, or a list of files Compose merges in order (a variant's overrides
    on top of the stack it shares its files with)."""
    if node is None:
        return ()
    if isinstance(node, SequenceNode):
        items = reader.sequence(node, "compose_file") or []
        if not items:
            reader.report(node, "compose_file", "expected at least one compose file")
        paths = [(item, f"compose_file[{i}]", reader.value(item, f"compose_file[{i}]", _COMPOSE_FILE))
                 for i, item in enumerate(items)]
    else:
        paths = [(node, "compose_file", reader.value(node, "compose_file", _COMPOSE_FILE))]
    found = tuple(_stack_file(reader, item, key, value, folder, root) for item, key, value in paths
                  if value is not None)
    return found if None not in found and len(found) == len(paths) else ()


def _engines(reader: Reader, node: Node | None) -> dict[str, EngineSpec]:
    """``engines``: site -> its engine, a Docker host URL or context name, or a mapping with ``host``
    and the ``stop``/``start`` commands of that engine."""
    entries = reader.entries(node, "engines", "a mapping of site to a Docker host URL or context name") \
        if node is not None else {}
    found = {}
    for site, (key_node, value) in (entries or {}).items():
        path = f"engines.{site}"
        problem = name_problem(site, "site")
        if problem:
            reader.report(key_node, path, problem)
            continue
        if isinstance(value, MappingNode):
            fields = reader.section(value, path, _ENGINE_KEYS, ("host",)) or {}
            host = reader.value(fields["host"], f"{path}.host", _ENGINE_HOST) if "host" in fields else None
            commands = {k: reader.value(fields[k], f"{path}.{k}", _ENGINE_COMMAND) or "" for k in ("stop", "start")
                        if k in fields}
            if bool(commands.get("stop")) != bool(commands.get("start")):
                reader.report(value, path, "give both stop and start (engine_loss stops the engine and starts "
                                           "it again), or neither")
        else:
            host, commands = reader.value(value, path, _ENGINE_HOST), {}
        if host is None:
            continue
        if "://" in host and not host.startswith(_ENGINE_SCHEMES):
            reader.report(value, path, f"expected a Docker host URL ({', '.join(_ENGINE_SCHEMES[:3])}...) or a "
                                       f"docker context name, got {host!r}")
            continue
        if not host.strip() or any(c.isspace() for c in host):
            reader.report(value, path, f"expected a Docker host URL or a docker context name, got {host!r}")
            continue
        found[site] = EngineSpec(host, **commands)
    return found


def _commands(reader: Reader, node: Node | None, key: str) -> dict[str, str]:
    """A mapping of name to string (probes: a path; steady_state: a shell command)."""
    entries = reader.entries(node, key, "a mapping of name to string") if node is not None else {}
    found = {}
    for name, (key_node, value) in (entries or {}).items():
        problem = name_problem(name, "name")
        if problem:
            reader.report(key_node, f"{key}.{name}", problem)
        found[name] = reader.value(value, f"{key}.{name}", _COMMAND)
    return found




def _operations(reader: Reader, node: Node | None, services: tuple[str, ...] | None) -> dict[str, dict[str, str]]:
    """``service -> {operation: read | write}``: the operations the workload records (the ``op`` of
    its history records) and their kind; each service one of ``services``."""
    entries = reader.entries(node, "operations", "a mapping of service to {operation: read | write}") \
        if node is not None else {}
    found: dict[str, dict[str, str]] = {}
    for service, (key_node, value) in (entries or {}).items():
        path = f"operations.{service}"
        problem = name_problem(service, "service")
        if problem:
            reader.report(key_node, path, problem)
        elif services is not None and service not in services:
            reader.report(key_node, path, f"unknown service {service!r}; operations are declared for the "
                                          f"services of this file: {', '.join(services) or 'none'}")
        ops = reader.entries(value, path, "a mapping of operation to read or write, like {list: read}")
        kinds: dict[str, str] = {}
        for op, (op_key, kind) in (ops or {}).items():
            problem = name_problem(op, "operation")
            if problem:
                reader.report(op_key, f"{path}.{op}", problem)
            kinds[op] = reader.value(kind, f"{path}.{op}", _OP_KIND)
        if ops is not None and not ops:
            reader.report(value, path, "expected at least one operation, like {list: read}")
        found[service] = kinds
    return found
