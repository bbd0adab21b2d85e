"""Load an experiment file (format version 1) into a typed, frozen ``Experiment``.

Every problem of a file is reported at once, each with its line, column and key path
(``faults[0].target.site``), and nothing runs on an invalid file. A pure module: no Docker, no
network. The format, by example::

    name: pangyo-power-cut          # required, a name: [a-z0-9][a-z0-9_-]*, at most 63 characters
    description: Pangyo loses power  # optional
    stack: dual-site                 # required, a name (a folder of stacks/); the CLI may override it
    tags: [nightly, site]            # optional
    expect: pass                     # pass | fail (default pass), on whatever stack the run uses,
                                     # or per stack: {dual-site: pass, single-site: fail}; then
                                     # stack must be one of its keys, and so must the CLI's --stack
    load:                            # required
      users: 20                      # int 1..1000
      spawn_rate: 20                 # number > 0, <= 1000
      duration_s: 60                 # number 1..604800 (a week)
      mix: {send: 3, pay: 2}         # optional whole task weights 0..1000, tasks the stack declares
      workers: 1                     # optional Locust processes 1..64 (more: a master and workers)
      remote_workers: 0              # optional 0..workers of them started on other machines
    faults:                          # optional list
      - type: power_cut              # a type in chaos.faults.REGISTRY (a module of chaos/faults/)
        target: {site: pangyo}       # {site: X} | {service: S, site: X} | {link: [a, b]}
        at_s: 15                     # offset from load start, before load.duration_s
        power_returns_after_s: 30    # the type's own parameters
    checks:                          # optional: metric -> {max|min|equals: N, service: S}, a metric
                                     # of chaos.checks.metrics.METRICS, N within its bounds; with
                                     # op: O (an operation the stack declares) or kind: read|write,
                                     # judged on those requests only
      rto_s: {max: 15}               # or a list of those, e.g. one per service
      lost_writes: {max: 0}
    abort_if:                        # optional list: stop the run early when one holds
      - {all_services_failing_for_s: 120}        # no service had an ok request for 120 s
      - {failing_for_s: 60, service: orders}     # this service (or, without service, any one)
      - {error_ratio_over: 0.9, window_s: 30}    # > 90% not ok over the last 30 s (min_requests: 10)
    rto_consecutive_ok: 5            # optional int 1..1000
    recovery_wait_s: 30              # optional number 0..604800

Every number has an upper bound, every duration at most a week (``MAX_DURATION_S``); every name
(experiment, stack, site, service, task, tag) matches ``NAME_PATTERN``. The file itself is read only
if it is a regular file of at most 1 MiB, and nested at most ``MAX_DEPTH`` levels deep.
``validate_targets`` then checks the names against the stack's.

``json_schema()`` gives the same format as a JSON Schema for editors.
"""

from __future__ import annotations

import dataclasses
import difflib
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Iterable, Iterator

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from chaos.checks.metrics import METRICS
from chaos.errors import ExperimentInvalid, InvalidInput, Problem
from chaos.experiment import ABORT_KINDS, AbortCondition, Experiment, FaultSpec, Load, Target, Threshold
from chaos.faults import REGISTRY  # every fault module's declaration (importing chaos.faults finds them)
from chaos.faults.params import FaultDecl, Param
from chaos.names import NAME_MAX, NAME_PATTERN, describe, name_problem
from chaos.files import read_input
from chaos.run_folder import OP_KINDS

_YAML = "tag:yaml.org,2002:"
# Tags plain YAML resolves to; anything else (``!foo``, ``!!python/object``, ``!!set``) is refused.
_SCALAR_TAGS = {_YAML + kind for kind in ("null", "bool", "int", "float", "str", "timestamp")}
_PLAIN_TAGS = _SCALAR_TAGS | {_YAML + "seq", _YAML + "map"}
MAX_DEPTH = 32  # lists and mappings nested deeper than this are refused before they are built
_VERDICTS = ("pass", "fail")

_TOP_PARAMS = (
    Param("name", "str", required=True, names="name",
          doc="The experiment's name (lowercase letters, digits, dashes, underscores); it names the run folders."),
    Param("description", "str", default="", doc="What the experiment shows, in prose."),
    Param("stack", "str", required=True, names="stack name",
          doc="The stack (a folder of stacks/) to run; the CLI may override it."),
    Param(
        "rto_consecutive_ok",
        "int",
        default=Experiment.rto_consecutive_ok,
        min=1,
        max=1000,
        doc="Successes in a row that end an outage.",
    ),
    Param(
        "recovery_wait_s",
        "duration",
        default=Experiment.recovery_wait_s,
        doc="Seconds allowed after the load for the system to settle before the read-back.",
    ),
)
_TOP_KEYS = (
    "name",
    "description",
    "stack",
    "tags",
    "expect",
    "load",
    "faults",
    "checks",
    "abort_if",
    "rto_consecutive_ok",
    "recovery_wait_s",
)
_TOP_REQUIRED = ("name", "stack", "load")
# expect is read apart from _TOP_PARAMS: a verdict, or a mapping of stack to verdict.
_EXPECT = Param(
    "expect",
    "str",
    default=Experiment.expect,
    choices=_VERDICTS,
    doc="The verdict the stack should reach: fail for a stack meant to fail (single-site under a site loss); "
    "or, per stack, a mapping like {dual-site: pass, single-site: fail}, whose keys are the only stacks "
    "the experiment may run on (the nightly suite runs it on each).",
)
_EXPECT_VERDICT = Param("verdict", "str", required=True, choices=_VERDICTS)
_EXPECT_SHAPES = "pass, fail or a mapping of stack to verdict, like {dual-site: pass, single-site: fail}"

_LOAD_PARAMS = (
    Param("users", "int", required=True, min=1, max=1000, doc="Simulated users."),
    Param("spawn_rate", "number", required=True, above=0, max=1000, doc="Users started per second."),
    # At least a second: Locust's run time is whole seconds, and 0 s is "no limit".
    Param("duration_s", "duration", required=True, min=1, doc="Seconds of load; fault offsets count from its start."),
    Param("workers", "int", default=1, min=1, max=64,
          doc="Locust processes making the load: 1 is one process; more is a Locust master and this many workers."),
    Param("remote_workers", "int", default=0, min=0, max=64,
          doc="How many of the workers run on other machines (chaos-harness worker --master HOST:PORT); "
              "the master waits for them before the load starts."),
)
_LOAD_KEYS = tuple(p.name for p in _LOAD_PARAMS) + ("mix",)
_MIX_WEIGHT = Param("weight", "int", min=0, max=1000, required=True,
                    doc="Relative weight of a workload task, a whole number (Locust's task weights).")
_TAG = Param("tag", "str", required=True, names="tag")

_FAULT_TYPE = Param("type", "str", required=True)
_AT_S = Param("at_s", "duration", required=True, doc="Offset from the start of the load, in seconds.")
_FAULT_KEYS = ("type", "target", "at_s")

# required=True only makes null invalid; which target keys must be present depends on the target's shape.
_SITE = Param("site", "str", required=True, names="site", doc="A site, e.g. pangyo.")
_SERVICE = Param("service", "str", required=True, names="service", doc="A service, e.g. orders.")
_TARGET_KEYS = ("site", "service", "link")
_TARGET_SHAPES = "{site: X}, {service: S, site: X} or {link: [a, b]}"

class _CheckMetrics(Mapping[str, Param]):
    """The metrics a threshold may name, as the loader reads a threshold's value: a live view of
    ``chaos.checks.metrics.METRICS`` (a metric registered after this module was imported is in it)."""

    def __getitem__(self, name: str) -> Param:
        metric = METRICS[name]
        return Param(metric.name, metric.kind, min=metric.min, max=metric.max, doc=metric.doc)

    def __iter__(self) -> Iterator[str]:
        return iter(METRICS)

    def __len__(self) -> int:
        return len(METRICS)


CHECK_METRICS: Mapping[str, Param] = _CheckMetrics()
_OPS = {"max": "<=", "min": ">=", "equals": "=="}

# abort_if: each condition is one of ABORT_KINDS, with the keys its kind takes.
_ABORT_PARAMS: dict[str, Param] = {
    "all_services_failing_for_s": Param(
        "all_services_failing_for_s", "duration", required=True, above=0,
        doc="Abort when no service had an ok request for this many seconds."),
    "failing_for_s": Param(
        "failing_for_s", "duration", required=True, above=0,
        doc="Abort when the service (without service: any service that had requests) had no ok request "
        "for this many seconds."),
    "error_ratio_over": Param(
        "error_ratio_over", "number", required=True, min=0,
        doc="Abort when, over the last window_s seconds, more than this share of the requests were not ok "
        "(fail or unknown); below 1."),
    "service": Param("service", "str", names="service", doc="The service the condition watches, e.g. orders; omit or null: "
                     "any service (failing_for_s) or every request (error_ratio_over)."),
    "window_s": Param("window_s", "duration", default=AbortCondition.window_s, above=0,
                      doc="The sliding window of error_ratio_over, in seconds; judged once that much load ran."),
    "min_requests": Param("min_requests", "int", default=AbortCondition.min_requests, min=1, max=1_000_000,
                          doc="Fewer requests than this in the window never abort."),
}
_ABORT_SHAPES: dict[str, tuple[str, ...]] = {
    "all_services_failing_for_s": ("all_services_failing_for_s",),
    "failing_for_s": ("failing_for_s", "service"),
    "error_ratio_over": ("error_ratio_over", "window_s", "service", "min_requests"),
}
_OPERATION = Param("op", "str", required=True, names="operation",
                   doc="An operation the stack's workload declares (operations: in its stack.yaml), e.g. create: "
                   "the threshold judges that operation's requests only.")
_KIND = Param("kind", "str", required=True, choices=OP_KINDS,
              doc="read or write (a request that carries a write_id): the threshold judges those requests only.")
_THRESHOLD_KEYS = (*_OPS, "service", "op", "kind")


def load_experiment(path: str | Path) -> Experiment:
    """Read and validate the experiment file at ``path``; ExperimentInvalid lists every problem."""
    path = Path(path)
    return load_experiment_text(read_input(path, "experiment file"), str(path))


def load_experiment_text(text: str, filename: str) -> Experiment:
    """Validate the YAML ``text`` of an experiment; ``filename`` is only used in messages and ``source``."""
    reader = Reader(filename)
    root = reader.compose(text, "a mapping with name, stack and load")
    experiment = reader.guarded(reader.experiment, root) if root is not None else None
    if reader.problems or experiment is None:
        raise ExperimentInvalid(reader.sorted_problems(), partial=reader.partial)
    return experiment


def validate_targets(experiment: Experiment, sites: set[str], services: set[str], *,
                     stack: str = "", tasks: set[str] | None = None, links: set[frozenset[str]] | None = None,
                     placement: set[tuple[str, str | None]] | None = None,
                     wan_types: set[str] = frozenset(),
                     operations: Mapping[str, Mapping[str, str]] | None = None) -> list[Problem]:
    """Problems with names the stack does not have: fault targets' sites and services, the services
    of thresholds and abort conditions, the operations thresholds name (``operations``, the stack's
    declaration: service -> {op: kind}; a stack that declares none takes no ``op``). When given, also:
    ``tasks`` the stack's workload declares
    (``load.mix``); ``links``, the pairs of sites with a Toxiproxy proxy between them (the targets of
    the ``wan_types`` faults); ``placement``, the (site, service) of every container (None: not an
    app), so that a container fault's ``{service, site}`` or ``{site}`` has something to act on."""
    known = {"site": sites, "service": services}
    problems = []

    def report(path: str, line: int | None, message: str) -> None:
        problems.append(Problem(experiment.source, experiment.lines.get(path, line), None, path, message))

    for index, fault in enumerate(experiment.faults):
        where = fault.path or f"faults[{index}]"
        unknown = False
        for key, noun, name in _target_names(fault.target):
            if name not in known[noun]:
                unknown = True
                report(f"{where}.target.{key}", fault.line, _unknown(noun, name, known[noun]))
        if not unknown:
            problems += _unreachable(experiment, fault, where, stack, links, placement, wan_types)
    for threshold in experiment.checks:
        if threshold.service is not None and threshold.service not in services:
            report(f"{threshold.path}.service", None, _unknown("service", threshold.service, services))
        elif threshold.operation is not None:
            message = _undeclared_operation(threshold, stack, operations or {})
            if message:
                report(f"{threshold.path}.op", None, message)
    for index, condition in enumerate(experiment.abort_if):
        if condition.service is not None and condition.service not in services:
            report(f"abort_if[{index}].service", condition.line, _unknown("service", condition.service, services))
    if tasks is not None:
        for name in experiment.load.mix:
            path = f"load.mix.{name}"
            if not tasks:
                report(path, None, f"stack {stack}'s workload declares no tasks (tasks: in its stack.yaml), so "
                                   "it takes no load.mix; remove load.mix")
            elif name not in tasks:
                report(path, None, _unknown("task", name, tasks))
    return problems


def _undeclared_operation(threshold: Threshold, stack: str, operations: Mapping[str, Mapping[str, str]]) -> str:
    """Why the operation ``threshold`` names is not one the stack declares ("" if it is)."""
    if not any(operations.values()):
        return (f"stack {stack} declares no operations (operations: in its stack.yaml), so a threshold cannot "
                f"name one; remove op, or use kind: read or kind: write")
    if threshold.service is not None:
        declared = operations.get(threshold.service, {})
        if threshold.operation in declared:
            return ""
        return (_unknown("operation", threshold.operation, declared)
                + f" (the operations stack {stack} declares for {threshold.service})")
    if any(threshold.operation in ops for ops in operations.values()):
        return ""
    every = {op for ops in operations.values() for op in ops}
    return _unknown("operation", threshold.operation, every) + f" (the operations stack {stack} declares)"


def _unreachable(experiment: Experiment, fault: FaultSpec, where: str, stack: str,
                 links: set[frozenset[str]] | None, placement: set[tuple[str, str | None]] | None,
                 wan_types: set[str]) -> list[Problem]:
    """The problem of a fault whose target names known sites and services but nothing to act on: a
    link without a proxy, a service that does not run at the named site, a site without containers."""
    target = fault.target
    path, message = f"{where}.target", None
    if fault.type in wan_types and links is not None:
        linked = sorted("-".join(sorted(pair)) for pair in links)
        if target.link and frozenset(target.link) not in links:
            path += ".link"
            message = (f"stack {stack} has no Toxiproxy proxy between {target.link[0]} and {target.link[1]}; "
                       f"links with proxies: {', '.join(linked) or 'none'}")
        elif target.site and not any(target.site in pair for pair in links):
            path += ".site"
            message = (f"stack {stack} has no Toxiproxy proxy to or from {target.site}; "
                       f"links with proxies: {', '.join(linked) or 'none'}")
    elif fault.type not in wan_types and placement is not None:
        if target.service is not None and target.site is not None:
            if (target.site, target.service) not in placement:
                where = sorted(site for site, service in placement if service == target.service)
                message = (f"stack {stack} has no {target.service} at {target.site}; "
                           f"{target.service} runs at: {', '.join(where) or 'no site'}")
        elif target.service is not None:
            if not any(service == target.service for _, service in placement):
                message = f"stack {stack} has no container of service {target.service} (chaos.service label)"
        elif target.site is not None and not any(site == target.site for site, _ in placement):
            message = f"stack {stack} has no container at site {target.site} (chaos.site label)"
    if message is None:
        return []
    return [Problem(experiment.source, fault.line, None, path, message)]


def _target_names(target: Target) -> Iterator[tuple[str, str, str]]:
    """(key, noun, name) for every site or service a target names: ("link[1]", "site", "witness")."""
    if target.site is not None:
        yield "site", "site", target.site
    if target.service is not None:
        yield "service", "service", target.service
    for index, site in enumerate(target.link or ()):
        yield f"link[{index}]", "site", site


def json_schema() -> dict[str, Any]:
    """The experiment format as a JSON Schema (draft 2020-12), one ``oneOf`` branch per fault type."""
    properties = {p.name: p.json_schema() for p in _TOP_PARAMS}
    properties["expect"] = _expect_schema()
    properties["tags"] = {"type": "array", "items": {"type": "string"}}
    properties["load"] = _load_schema()
    properties["faults"] = {"type": "array", "items": {"oneOf": [_fault_schema(REGISTRY[t]) for t in sorted(REGISTRY)]}}
    properties["checks"] = _checks_schema()
    properties["abort_if"] = _abort_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "chaos-harness experiment (format version 1)",
        "type": "object",
        "properties": {key: properties[key] for key in _TOP_KEYS},
        "required": list(_TOP_REQUIRED),
        "additionalProperties": False,
        "$defs": _target_schemas(),
    }


def _expect_schema() -> dict[str, Any]:
    """A verdict for any stack, or a mapping of stack name to verdict (at least one)."""
    verdict = {"type": "string", "enum": list(_VERDICTS)}
    return {
        "description": _EXPECT.doc,
        "default": _EXPECT.default,
        "oneOf": [
            {**verdict, "title": "one verdict", "description": "The verdict on whatever stack the run uses."},
            {
                "title": "verdict per stack",
                "description": "The verdict on each stack the experiment may run on; the experiment's stack "
                "must be one of them.",
                "type": "object",
                "propertyNames": {"pattern": f"^{NAME_PATTERN}$", "maxLength": NAME_MAX},
                "additionalProperties": verdict,
                "minProperties": 1,
            },
        ],
    }


def _load_schema() -> dict[str, Any]:
    properties = {p.name: p.json_schema() for p in _LOAD_PARAMS}
    properties["mix"] = {"type": "object", "additionalProperties": _MIX_WEIGHT.json_schema()}
    required = [p.name for p in _LOAD_PARAMS if p.required]
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def _fault_schema(decl: FaultDecl) -> dict[str, Any]:
    target = {"oneOf": [{"$ref": f"#/$defs/{kind}_target"} for kind in decl.targets]}
    properties = {"type": {"const": decl.type}, "target": target, "at_s": _AT_S.json_schema()}
    for param in decl.params:
        properties[param.name] = param.json_schema()
    required = [*_FAULT_KEYS, *(p.name for p in decl.params if p.required)]
    return {
        "title": decl.type,
        "description": decl.doc,
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def _target_schemas() -> dict[str, Any]:
    def target(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
        return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}

    link = {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 2}
    return {
        "site_target": target({"site": _SITE.json_schema()}, ["site"]),
        "service_target": target({"service": _SERVICE.json_schema(), "site": _SITE.json_schema()}, ["service"]),
        "link_target": target({"link": link}, ["link"]),
    }


def _checks_schema() -> dict[str, Any]:
    properties = {}
    for metric, param in CHECK_METRICS.items():
        value = {k: v for k, v in param.json_schema().items() if k != "description"}
        threshold = {
            "type": "object",
            "properties": {**{op: value for op in _OPS}, "service": {"type": "string"},
                           "op": _OPERATION.json_schema(), "kind": _KIND.json_schema()},
            "oneOf": [{"required": [op]} for op in _OPS],
            "not": {"required": ["op", "kind"]},
            "additionalProperties": False,
        }
        many = {"type": "array", "items": threshold, "minItems": 1}
        properties[metric] = {"description": param.doc, "oneOf": [threshold, many]}
    return {"type": "object", "properties": properties, "additionalProperties": False}


def _abort_schema() -> dict[str, Any]:
    branches = []
    for kind, keys in _ABORT_SHAPES.items():
        properties = {key: _ABORT_PARAMS[key].json_schema() for key in keys}
        if kind == "error_ratio_over":
            properties[kind]["exclusiveMaximum"] = 1
        branches.append({"title": kind, "type": "object", "properties": properties, "required": [kind],
                         "additionalProperties": False})
    return {"type": "array", "items": {"oneOf": branches},
            "description": "Stop conditions on live figures: the first that holds stops the load, every fault is "
            "healed, the run is judged and the check not_aborted fails."}


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _unknown_key(name: str, allowed: tuple[str, ...]) -> str:
    """``unknown key 'x'; did you mean 'y'?``, or the keys allowed when none is close."""
    close = difflib.get_close_matches(name, allowed, n=1)
    if close:
        return f"unknown key {name!r}; did you mean {close[0]!r}?"
    return f"unknown key {name!r}; expected one of: {', '.join(allowed)}"


def _unknown(noun: str, name: str, known: Iterable[str]) -> str:
    """``unknown site 'x'; did you mean 'y'? known: a, b``: for names the user picks from a set."""
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ";"
    return f"unknown {noun} {name!r}{hint} known: {', '.join(known) or 'none'}"


class _TooDeep(Exception):
    """A list or mapping nested deeper than MAX_DEPTH, at ``mark`` (where it starts)."""

    def __init__(self, mark):
        super().__init__(mark)
        self.mark = mark


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader whose composer refuses a list or mapping nested deeper than MAX_DEPTH
    (``_TooDeep``) as it meets it, before composing it: composing recurses once per level, so the
    recursion is bounded, and the document is parsed once (a separate pass over the parser's events
    to check the depth first took as long as composing)."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        if not self.check_event(yaml.SequenceStartEvent, yaml.MappingStartEvent):
            return super().compose_node(parent, index)  # a scalar or an alias: nothing nested
        if self._depth == MAX_DEPTH:
            raise _TooDeep(self.peek_event().start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _flow_too_deep(text: str) -> int | None:
    """The offset of the first ``[`` or ``{`` nested deeper than MAX_DEPTH in ``text``, or None.

    A fast look at the characters before PyYAML sees them: quoted scalars (a quote opens one only
    where a token starts) and comments are skipped; a bracket in a block scalar counts, which can
    only refuse a file more than MAX_DEPTH brackets deep in prose."""
    depth, quote, escaped, comment, previous = 0, None, False, False, "\n"
    for offset, char in enumerate(text):
        if comment:
            comment = char != "\n"
        elif quote:
            if escaped:
                escaped = False
            elif char == "\\" and quote == '"':
                escaped = True
            elif char == quote:
                quote = None
        elif char in "'\"" and previous in "\n[{,:-?":
            quote = char
        elif char == "#" and (offset == 0 or text[offset - 1] in " \t\n"):
            comment = True
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return offset
        elif char in "]}":
            depth = max(0, depth - 1)
        if char not in " \t":
            previous = char
    return None


def _stand_in(node: Node) -> Any:
    """A scalar's value; for a list or mapping an empty one, enough to say what the user wrote.

    A scalar that does not construct (an impossible date like 2022-13-45) stands in as its text.
    """
    if isinstance(node, SequenceNode):
        return []
    if isinstance(node, MappingNode):
        return {}
    try:
        return SafeConstructor().construct_object(node)
    except (ConstructorError, ValueError):
        return node.value


class Reader:
    """Walks the composed YAML node tree of one file, collecting problems instead of stopping.

    Each method reports what it finds wrong and returns None for what it could not read; the
    Experiment is only built when no problem was found, so a None never reaches it. The generic
    part (``compose`` to ``field``) reads any of the harness's input files (``chaos.stack`` reads
    ``stack.yaml`` with it). ``lines`` keeps the line of every value read, by key path.
    """

    def __init__(self, filename: str):
        self.file = filename
        self.problems: list[Problem] = []
        self.lines: dict[str, int] = {}
        self.partial: Experiment | None = None  # an invalid experiment's valid parts (ExperimentInvalid)
        self.mix_names: tuple[str, ...] = ()

    def sorted_problems(self) -> list[Problem]:
        return sorted(self.problems, key=lambda p: (p.line or 0, p.column or 0))

    def guarded(self, read, root: Node):
        """``read(root)``; a RecursionError, MemoryError or OverflowError on the way becomes a problem
        (at the root: where in the file it arose is not known) instead of a traceback."""
        try:
            return read(root)
        except (RecursionError, MemoryError, OverflowError) as error:
            what = {RecursionError: "nested too deeply", MemoryError: "too large to read",
                    OverflowError: "holds a number too large to read"}[type(error)]
            self.report(root, "", f"the file {what}; write a smaller, flatter file")
            return None

    def report(self, node: Node | None, path: str, message: str) -> None:
        """Record a problem at ``node`` (at line 1 when there is no node)."""
        line, column = (node.start_mark.line + 1, node.start_mark.column + 1) if node else (1, 1)
        self.problems.append(Problem(self.file, line, column, path, message))

    def compose(self, text: str, expected: str = "a mapping") -> Node | None:
        """The document's node tree, with line and column marks; None (reported) if empty, not YAML or
        nested deeper than MAX_DEPTH (refused where the composer meets the first list or mapping that
        deep, before building it: building the tree of a deeper document would recurse without bound)."""
        deep = _flow_too_deep(text)
        if deep is not None:  # PyYAML scans a flow collection's nesting in quadratic time: seen first
            line, column = text.count("\n", 0, deep) + 1, deep - text.rfind("\n", 0, deep)
            self._too_deep(line, column)
            return None
        try:
            root = yaml.compose(text, Loader=_BoundedLoader)
        except _TooDeep as error:
            self._too_deep(error.mark.line + 1, error.mark.column + 1)
            return None
        except (RecursionError, MemoryError) as error:  # a backstop: the bound keeps both away
            self.problems.append(Problem(self.file, 1, None, "", f"cannot read the file ({type(error).__name__})"))
            return None
        except yaml.MarkedYAMLError as error:
            self._syntax_error(error)
            return None
        except yaml.reader.ReaderError as error:  # a character YAML does not accept
            line = text.count("\n", 0, error.position) + 1
            column = error.position - text.rfind("\n", 0, error.position)
            message = f"not valid YAML: unacceptable character #x{error.character:04x}"
            self.problems.append(Problem(self.file, line, column, "", message))
            return None
        if root is None:
            self.report(None, "", f"the file is empty; expected {expected}")
        return root

    def _too_deep(self, line: int, column: int) -> None:
        self.problems.append(Problem(self.file, line, column, "", f"lists and mappings nested deeper than "
                                     f"{MAX_DEPTH} levels; write a flatter file"))

    def _syntax_error(self, error: yaml.MarkedYAMLError) -> None:
        mark = error.problem_mark or error.context_mark
        context = error.context
        if context and error.context_mark and mark and error.context_mark.line != mark.line:
            context += f" started at line {error.context_mark.line + 1}"
        message = "YAML syntax error: " + ", ".join(filter(None, (context, error.problem)))
        if "'\\t'" in message:  # PyYAML: found character '\t' that cannot start any token
            message += " (indent with spaces, not tabs)"
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, None)
        self.problems.append(Problem(self.file, line, column, "", message))

    # Generic shapes.

    def entries(self, node: Node, path: str, shape: str = "a mapping") -> dict[str, tuple[Node, Node]] | None:
        """A mapping's (key node, value node) by key; None (reported) if ``node`` is not a mapping.

        A duplicate key is reported and the first one kept.
        """
        if not isinstance(node, MappingNode):
            self.report(node, path, f"expected {shape}, got {describe(_stand_in(node))}")
            return None
        if not self.plain_tag(node, path):
            return None
        found: dict[str, tuple[Node, Node]] = {}
        for key, value in node.value:
            name = self.key_name(key, path)
            if name is None:
                continue
            if name in found:
                first = found[name][0].start_mark.line + 1
                self.report(key, _join(path, name), f"duplicate key {name!r} (first at line {first})")
                continue
            found[name] = (key, value)
        return found

    def key_name(self, key: Node, path: str) -> str | None:
        """The text of a mapping key; None (reported) for a list, mapping, tagged or merge (<<) key."""
        if key.tag == _YAML + "merge":
            self.report(key, path, "merge keys (<<) are not supported; write the keys out")
            return None
        if not isinstance(key, ScalarNode) or key.tag not in _SCALAR_TAGS:
            self.report(key, path, "expected a plain key")
            return None
        return key.value

    def check_keys(
        self,
        node: Node,
        entries: dict[str, tuple[Node, Node]],
        path: str,
        allowed: tuple[str, ...] | None,
        required: Iterable[str] = (),
        noun: str = "key",
    ) -> None:
        """Report keys not in ``allowed`` (None: any key goes) and ``required`` keys that are missing."""
        for name, (key, _) in entries.items():
            if allowed is not None and name not in allowed:
                message = _unknown_key(name, allowed) if noun == "key" else _unknown(noun, name, allowed)
                self.report(key, _join(path, name), message)
        for name in required:
            if name not in entries:
                self.report(node, path, f"missing required key {name!r}")

    def section(
        self, node: Node, path: str, allowed: tuple[str, ...], required: Iterable[str] = (), noun: str = "key"
    ) -> dict[str, Node] | None:
        """The value nodes of a mapping whose keys are known in advance; problems reported."""
        entries = self.entries(node, path)
        if entries is None:
            return None
        self.check_keys(node, entries, path, allowed, required, noun)
        return {name: value for name, (_, value) in entries.items() if name in allowed}

    def sequence(self, node: Node, path: str) -> list[Node] | None:
        """A list's item nodes; None (reported) if ``node`` is not a list."""
        if not isinstance(node, SequenceNode):
            self.report(node, path, f"expected a list, got {describe(_stand_in(node))}")
            return None
        if not self.plain_tag(node, path):
            return None
        return list(node.value)

    def plain_tag(self, node: Node, path: str) -> bool:
        """Whether ``node`` carries a tag plain YAML resolves to; reported if not (``!!python/...``)."""
        if node.tag in _PLAIN_TAGS:
            return True
        self.report(node, path, f"unsupported YAML tag {node.tag!r}")
        return False

    def value(self, node: Node, path: str, param: Param) -> Any:
        """A scalar checked against ``param``; None (reported) if invalid."""
        self.lines[path] = node.start_mark.line + 1
        if not self.plain_tag(node, path):
            return None
        try:
            return param.validate(_stand_in(node))
        except ValueError as error:
            self.report(node, path, str(error))
            return None
        except OverflowError:  # a backstop: every number has a bound below a float's
            self.report(node, path, f"too large a number; {param.name} takes at most {param.ceiling:g}")
            return None

    def names(self, node: Node, path: str, noun: str) -> tuple[str, ...] | None:
        """A list of distinct names (NAME_PATTERN); None (reported) if it is not one."""
        items = self.sequence(node, path)
        if items is None:
            return None
        param = Param(noun, "str", required=True, names=noun)
        names = tuple(self.value(item, f"{path}[{i}]", param) for i, item in enumerate(items))
        for i, name in enumerate(names):
            if name is not None and name in names[:i]:
                self.report(items[i], f"{path}[{i}]", f"{name!r} is listed twice")
        return None if None in names else names

    def field(self, values: dict[str, Node], param: Param, path: str) -> Any:
        """The value of ``param`` in a section, or its default when absent (a missing required key is
        reported by ``check_keys``)."""
        if param.name not in values:
            return param.default
        return self.value(values[param.name], _join(path, param.name), param)

    # The experiment's parts.

    def experiment(self, root: Node) -> Experiment | None:
        """The whole file; every part is read (and its problems reported) even when another is wrong."""
        values = self.section(root, "", _TOP_KEYS, _TOP_REQUIRED)
        if values is None:
            return None
        scalars = {param.name: self.field(values, param, "") for param in _TOP_PARAMS}
        expect, expect_by_stack = self.expect(values.get("expect"), scalars["stack"], values.get("stack"))
        load = self.load(values["load"]) if "load" in values else None
        faults = self.faults(values.get("faults"), load.duration_s if load else None)
        checks = self.checks(values.get("checks"))
        abort_if = self.abort_if(values.get("abort_if"), load.duration_s if load else None)
        tags = self.tags(values.get("tags"))
        if self.problems or load is None:
            if isinstance(scalars["stack"], str) and name_problem(scalars["stack"], "stack name") is None:
                self.partial = Experiment(
                    name=scalars["name"] or "", description="", stack=scalars["stack"],
                    load=Load(mix=dict.fromkeys(self.mix_names, 1)), faults=tuple(f for f in faults if f),
                    checks=tuple(t for t in checks if t), abort_if=tuple(a for a in abort_if if a),
                    source=self.file, lines=dict(self.lines))
            return None
        scalars["description"] = scalars["description"].strip()
        return Experiment(**scalars, expect=expect, expect_by_stack=expect_by_stack, load=load, faults=faults,
                          checks=checks, abort_if=abort_if, tags=tags, source=self.file, lines=dict(self.lines))

    def expect(self, node: Node | None, stack: str | None, stack_node: Node | None) -> tuple[str | None, dict]:
        """``expect``: one verdict for any stack, or a mapping of stack to verdict, in which ``stack``
        must be a key. Returns the verdict for ``stack`` and the mapping (empty for one verdict)."""
        if node is None:
            return _EXPECT.default, {}
        if isinstance(node, SequenceNode):
            self.report(node, "expect", f"expected {_EXPECT_SHAPES}, got a list")
            return None, {}
        if not isinstance(node, MappingNode):
            return self.value(node, "expect", _EXPECT), {}
        entries = self.entries(node, "expect")
        if entries is None:
            return None, {}
        if not entries:
            self.report(node, "expect", f"expected {_EXPECT_SHAPES}, got an empty mapping")
            return None, {}
        by_stack = {}
        for name, (key, value) in entries.items():
            path = _join("expect", name)
            problem = name_problem(name, "stack name")
            if problem:
                self.report(key, path, problem)
            by_stack[name] = self.value(value, path, _EXPECT_VERDICT)
        if isinstance(stack, str) and stack not in by_stack:
            close = difflib.get_close_matches(stack, list(by_stack), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ";"
            self.report(stack_node, "stack", f"stack {stack!r} has no verdict in expect{hint} "
                                             f"expect names: {', '.join(by_stack)}")
            return None, by_stack
        return by_stack.get(stack), by_stack

    def tags(self, node: Node | None) -> tuple[str, ...]:
        items = self.sequence(node, "tags") if node is not None else []
        return tuple(self.value(item, f"tags[{i}]", _TAG) for i, item in enumerate(items or ()))

    def load(self, node: Node) -> Load | None:
        values = self.section(node, "load", _LOAD_KEYS, (p.name for p in _LOAD_PARAMS if p.required))
        if values is None:
            return None
        scalars = {param.name: self.field(values, param, "load") for param in _LOAD_PARAMS}
        mix = self.mix(values["mix"]) if "mix" in values else {}
        if None in scalars.values() or mix is None:
            return None
        if scalars["remote_workers"] > scalars["workers"]:
            self.report(values["remote_workers"], "load.remote_workers",
                        f"{scalars['remote_workers']} remote workers is more than workers "
                        f"({scalars['workers']}, every worker counted, remote ones included); write "
                        f"workers: {scalars['remote_workers']} or more, or fewer remote_workers")
            return None
        return Load(**scalars, mix=mix)

    def mix(self, node: Node) -> dict[str, float] | None:
        """Task -> whole weight; the tasks' names are checked against the stack's (``validate_targets``)."""
        entries = self.entries(node, "load.mix", "a mapping of task to weight, like {send: 3, pay: 2}")
        if entries is None:
            return None
        mix = {}
        self.mix_names = tuple(entries)
        for name, (key, value) in entries.items():
            problem = name_problem(name, "task name")
            if problem:
                self.report(key, f"load.mix.{name}", problem)
            mix[name] = self.value(value, f"load.mix.{name}", _MIX_WEIGHT)
        if mix and all(weight == 0 for weight in mix.values()):
            self.report(node, "load.mix", "every task weight is 0; give at least one task a weight above 0")
        return mix

    def faults(self, node: Node | None, duration_s: float | None) -> tuple[FaultSpec, ...]:
        items = self.sequence(node, "faults") if node is not None else []
        return tuple(self.fault(item, f"faults[{i}]", duration_s) for i, item in enumerate(items or ()))

    def fault(self, node: Node, path: str, duration_s: float | None) -> FaultSpec | None:
        """One fault: its type decides which parameters it takes; defaults fill the ones left out."""
        before = len(self.problems)
        entries = self.entries(node, path)
        if entries is None:
            return None
        decl = self.fault_decl(entries, path)
        allowed = (*_FAULT_KEYS, *(p.name for p in decl.params)) if decl else None
        required = (*_FAULT_KEYS, *(p.name for p in decl.params if p.required)) if decl else _FAULT_KEYS
        self.check_keys(node, entries, path, allowed, required)
        values = {name: value for name, (_, value) in entries.items()}
        target = self.target(values["target"], _join(path, "target"), decl) if "target" in values else None
        at_s = self.field(values, _AT_S, path)
        if at_s is not None and duration_s is not None and at_s >= duration_s:
            message = f"at_s {at_s:g} is not before the end of the load (load.duration_s is {duration_s:g})"
            self.report(values["at_s"], _join(path, "at_s"), message)
        params = {p.name: self.field(values, p, path) for p in decl.params} if decl else {}
        if decl is None or target is None or at_s is None or len(self.problems) > before:
            return None  # (only whole faults reach an invalid file's partial experiment)
        return FaultSpec(decl.type, target, at_s, params, line=node.start_mark.line + 1, path=path)

    def fault_decl(self, entries: dict[str, tuple[Node, Node]], path: str) -> FaultDecl | None:
        """The declaration of the fault's ``type``; None (reported unless the key is missing) if unknown."""
        if "type" not in entries:
            return None
        node = entries["type"][1]
        name = self.value(node, _join(path, "type"), _FAULT_TYPE)
        if name is not None and name not in REGISTRY:
            self.report(node, _join(path, "type"), _unknown("fault type", name, REGISTRY))
        return REGISTRY.get(name) if name is not None else None

    def target(self, node: Node, path: str, decl: FaultDecl | None) -> Target | None:
        """A target whose shape (link, service or site) is one the fault's declaration accepts."""
        values = self.section(node, path, _TARGET_KEYS)
        if values is None:
            return None
        kind = next((k for k in ("link", "service", "site") if k in values), None)
        if kind is None:
            self.report(node, path, f"expected a target like {_TARGET_SHAPES}")
            return None
        if kind == "link" and len(values) > 1:
            self.report(node, path, "a link target takes no other key")
        if decl is not None and kind not in decl.targets:
            self.report(node, path, f"{decl.type} cannot target a {kind}; it targets: {' or '.join(decl.targets)}")
        site, service = self.field(values, _SITE, path), self.field(values, _SERVICE, path)
        link = self.link(values["link"], _join(path, "link")) if "link" in values else None
        return Target(site=site, service=service, link=link)

    def link(self, node: Node, path: str) -> tuple[str, str] | None:
        """The two different sites a link joins."""
        items = self.sequence(node, path)
        if items is None:
            return None
        if len(items) != 2:
            self.report(node, path, f"expected two sites, like [pangyo, chuncheon], got {len(items)}")
            return None
        sites = tuple(self.value(item, f"{path}[{i}]", _SITE) for i, item in enumerate(items))
        if sites[0] is not None and sites[0] == sites[1]:
            self.report(node, path, f"a link joins two different sites, got {sites[0]!r} twice")
        return sites

    def checks(self, node: Node | None) -> tuple[Threshold, ...]:
        """metric -> one threshold, or a list of them (e.g. one per service)."""
        values = self.section(node, "checks", tuple(CHECK_METRICS), noun="metric") if node is not None else {}
        thresholds = []
        for metric, value in (values or {}).items():
            path = f"checks.{metric}"
            if isinstance(value, SequenceNode):
                items = [(item, f"{path}[{i}]") for i, item in enumerate(self.sequence(value, path) or ())]
            else:
                items = [(value, path)]
            thresholds += [self.threshold(item, item_path, metric) for item, item_path in items]
        return tuple(thresholds)

    def threshold(self, node: Node, path: str, metric: str) -> Threshold | None:
        """``{max|min|equals: N, service: S, op: O | kind: read|write}``, N checked against the metric's
    bounds (the op against the stack's operations in ``validate_targets``)."""
        entries = self.entries(node, path, "a mapping like {max: 15}")
        if entries is None:
            return None
        self.check_keys(node, entries, path, _THRESHOLD_KEYS)
        values = {name: value for name, (_, value) in entries.items()}
        ops = [op for op in _OPS if op in values]
        if len(ops) != 1:
            self.report(node, path, f"expected exactly one of max, min, equals, got {', '.join(ops) or 'none'}")
            return None
        bound = dataclasses.replace(CHECK_METRICS[metric], name=ops[0], required=True)
        value = self.field(values, bound, path)
        service = self.field(values, _SERVICE, path)
        operation, kind = self.field(values, _OPERATION, path), self.field(values, _KIND, path)
        if "op" in values and "kind" in values:
            self.report(node, path, "expected op or kind, not both: an operation has one kind already")
            return None
        if value is None:
            return None
        return Threshold(metric, _OPS[ops[0]], float(value), service, path=path, operation=operation, kind=kind)

    def abort_if(self, node: Node | None, duration_s: float | None) -> tuple[AbortCondition, ...]:
        items = self.sequence(node, "abort_if") if node is not None else []
        return tuple(self.abort_condition(item, f"abort_if[{i}]", duration_s) for i, item in enumerate(items or ()))

    def abort_condition(self, node: Node, path: str, duration_s: float | None) -> AbortCondition | None:
        """One stop condition: its kind key (exactly one) decides which other keys it takes."""
        entries = self.entries(node, path, "a mapping like {failing_for_s: 60, service: orders}")
        if entries is None:
            return None
        before = len(self.problems)
        known = tuple(_ABORT_PARAMS)
        kinds = [k for k in ABORT_KINDS if k in entries]
        if len(kinds) != 1:
            got = ", ".join(kinds) or "none"
            self.report(node, path, f"expected exactly one of {', '.join(ABORT_KINDS)}, got {got}")
            self.check_keys(node, entries, path, known)
            return None
        kind = kinds[0]
        allowed = _ABORT_SHAPES[kind]
        for name, (key, _) in entries.items():
            if name not in known:
                self.report(key, _join(path, name), _unknown_key(name, known))
            elif name not in allowed:
                takes = ", ".join(allowed)
                self.report(key, _join(path, name), f"{name!r} does not go with {kind}, which takes: {takes}")
        values = {name: value for name, (_, value) in entries.items()}
        fields = {name: self.field(values, _ABORT_PARAMS[name], path) for name in allowed}
        ratio = fields.get("error_ratio_over")
        if ratio is not None and ratio >= 1:
            self.report(values[kind], _join(path, kind), f"must be < 1 (a share of the requests), got {ratio:g}")
        if duration_s is not None:
            self.never_triggers(values, path, fields, duration_s, values[kind])
        if len(self.problems) > before:
            return None
        return AbortCondition(**fields, line=node.start_mark.line + 1)

    def never_triggers(self, values: dict[str, Node], path: str, fields: dict[str, Any], duration_s: float,
                       kind_node: Node) -> None:
        """Report a duration no shorter than the load: the condition could never hold while it runs."""
        for name in ("all_services_failing_for_s", "failing_for_s", "window_s"):
            seconds = fields.get(name)
            if seconds is None or seconds < duration_s:
                continue
            written = name in values
            message = (f"{name} {seconds:g}{'' if written else ' (the default)'} is not shorter than the load "
                       f"(load.duration_s is {duration_s:g}): the condition could never hold while the load runs")
            self.report(values[name] if written else kind_node, _join(path, name), message)
