"""The experiment format's reference (docs/experiments.md), generated from the declarations that
validate: the loader's own ``Param``s (top-level keys, ``load``, ``abort_if``), every fault's
``FaultDecl`` (``chaos.faults.REGISTRY``), every metric of ``chaos.checks.metrics.METRICS`` and each
stack's declared ``tasks``. Nothing here is written by hand twice: a parameter added to a
declaration appears in the reference, and ``tests/unit/test_reference.py`` fails while the
checked-in docs/experiments.md differs from ``reference_text()`` (``make docs`` regenerates it).

Also what ``plan`` shows of a fault: its parameters as YAML, each with its unit (``param_lines``).
A pure module: no Docker, no network.
"""

from __future__ import annotations

import dataclasses
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from chaos.checks.metrics import METRICS
from chaos.errors import ChaosError
from chaos.faults import REGISTRY
from chaos.faults.params import FaultDecl, Param
# The loader's declarations of the format (read, never changed): the same objects that validate.
from chaos.loader import (_ABORT_PARAMS, _ABORT_SHAPES, _AT_S, _EXPECT, _LOAD_PARAMS, _MIX_WEIGHT, _OPS, _TOP_PARAMS,
                          _TOP_REQUIRED, _TARGET_SHAPES)
from chaos.stack import available_stacks, find_stack

REGENERATE = "make docs   (or: chaos-harness reference --out docs/experiments.md)"

# Units by a parameter's name, as the format spells them (a Param carries no unit of its own).
_SUFFIX_UNITS = (("_ms", "ms"), ("_kbps", "kbit/s"), ("_s", "s"))
_KIND_WORDS = {"number": "number", "int": "integer", "str": "string", "bool": "true/false", "duration": "seconds"}


def unit_of(param: Param) -> str:
    """``ms``, ``s``, ``kbit/s`` from the parameter's name (a duration is in seconds); "" for none."""
    for suffix, unit in _SUFFIX_UNITS:
        if param.name.endswith(suffix):
            return unit
    return "s" if param.kind == "duration" else ""


def _number(value: Any) -> Any:
    """20.0 as 20, 0.5 as 0.5: a figure as a user writes it."""
    return int(value) if isinstance(value, float) and value.is_integer() and abs(value) < 1e16 else value


def _yaml_scalar(value: Any) -> str:
    """``value`` as plain YAML (``null``, ``both``, ``'on'`` quoted where YAML needs it)."""
    text = yaml.safe_dump(_number(value), default_flow_style=True, width=1000).strip()
    return text[:-len("\n...")].strip() if text.endswith("...") else text


def param_lines(decl: FaultDecl, params: Mapping[str, Any]) -> list[str]:
    """A fault's parameters as YAML lines, in its declaration's order, each with its unit:
    ``latency_ms: 50   # ms``; a duration left null says when it ends instead."""
    rows = []
    for p in decl.params:
        value = params.get(p.name)
        note = unit_of(p)
        if value is None and p.name == decl.duration:
            note = f"{note}; null: healed when the load ends" if note else "null: healed when the load ends"
        rows.append((f"{p.name}: {_yaml_scalar(value)}", note))
    width = max((len(text) for text, _ in rows), default=0)
    return [f"{text:<{width}}   # {note}" if note else text for text, note in rows]


# The reference ------------------------------------------------------------------------------------


def _bounds(param: Param) -> str:
    parts = []
    if param.floor is not None:
        parts.append(f">= {_yaml_scalar(param.floor)}")
    if param.above is not None:
        parts.append(f"> {_yaml_scalar(param.above)}")
    if param.ceiling is not None:
        parts.append(f"<= {_yaml_scalar(param.ceiling)}")
    if param.choices:
        parts.append("one of " + ", ".join(f"`{c}`" for c in param.choices))
    if param.names:
        parts.append(f"a {param.names}" if param.names.endswith("name") else f"a {param.names} name")
    return "; ".join(parts)


def _need(param: Param) -> str:
    if param.required:
        return "required"
    if param.default is not None:
        return f"default `{_yaml_scalar(param.default)}`"
    return "optional (null)"


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _param_table(params: Iterable[Param], first: str = "key") -> list[str]:
    rows = [f"| {first} | kind | unit | required / default | bounds | what it is |", "|---|---|---|---|---|---|"]
    for p in params:
        rows.append(f"| `{p.name}` | {_KIND_WORDS[p.kind]} | {unit_of(p) or '-'} | {_need(p)} | "
                    f"{_cell(_bounds(p)) or '-'} | {_cell(p.doc) or '-'} |")
    return rows


def _heal(decl: FaultDecl) -> str:
    how = "" if decl.heal_verb == _PLAIN_HEAL else f": {decl.heal_verb}"
    if decl.duration is None:
        return f"only when the load ends (it has no duration){how}"
    duration = next(p for p in decl.params if p.name == decl.duration)
    when = (f"`{decl.duration}` seconds after injection" if duration.required
            else f"`{decl.duration}` seconds after injection, or when the load ends if it is omitted or null")
    return when + how


def _example_value(p: Param) -> Any:
    if p.default is not None:
        return p.default
    if p.choices:
        return p.choices[0]
    if p.kind in ("duration", "number", "int"):
        low = p.floor if p.floor is not None else (p.above if p.above is not None else 0)
        value = max(low, 20) if p.ceiling is None or p.ceiling >= 20 else p.ceiling
        return int(value) if p.kind == "int" else value
    return None


_PLAIN_HEAL = next(f.default for f in dataclasses.fields(FaultDecl) if f.name == "heal_verb")


@dataclass(frozen=True)
class Names:
    """The names the examples use: those of a shipped stack (``example_names``), so they validate."""

    stack: str = "mine"
    site: str = "a"
    other_site: str = "b"
    services: tuple[str, ...] = ("orders", "billing")

    def target(self, kind: str) -> dict:
        return {"site": {"site": self.site}, "service": {"service": self.services[-1]},
                "link": {"link": [self.site, self.other_site]}}[kind]


def example_names(stacks_dir: Path) -> Names:
    """The first stack (by name) with two sites, a link between them and two services; its names."""
    for name in available_stacks(stacks_dir):
        try:
            stack = find_stack(name, stacks_dir)
        except ChaosError:
            continue
        if len(stack.sites) >= 2 and len(stack.services) >= 2 and stack.toxiproxy_config is not None:
            return Names(stack.name, stack.sites[0], stack.sites[1], tuple(stack.services))
    return Names()


def _fault_example(decl: FaultDecl, names: Names) -> list[str]:
    lines = [f"- type: {decl.type}", f"  target: {_flow(names.target(decl.targets[0]))}", "  at_s: 15"]
    params = {p.name: _example_value(p) for p in decl.params if p.required or p.default is not None}
    if decl.duration and params.get(decl.duration) is None:  # an optional duration: shown given
        params[decl.duration] = 30
    lines += [f"  {line}" for line in param_lines(decl, params) if line.split(":")[0] in params]
    return lines


def _flow(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True, width=1000).strip()


def _fault_section(decl: FaultDecl, names: Names) -> list[str]:
    targets = " or ".join(f"`{_flow(names.target(t))}`" + (" (every site; add `site: X` for one)"
                                                             if t == "service" else "") for t in decl.targets)
    lines = [f"### `{decl.type}`", "", decl.doc, "",
             f"- **targets:** {targets}",
             f"- **heal:** {_heal(decl)}"]
    if decl.needs_toxiproxy:
        lines.append("- **needs** the stack's Toxiproxy (`toxiproxy_url` in its stack.yaml)")
    lines += [""]
    lines += _param_table(decl.params, "parameter") if decl.params else ["It takes no parameter of its own."]
    lines += ["", "```yaml", *_fault_example(decl, names), "```", ""]
    return lines


def _metric_bounds(name: str) -> str:
    m = METRICS[name]
    parts = [f">= {_yaml_scalar(m.min)}"] if m.min is not None else []
    if m.max is not None:
        parts.append(f"<= {_yaml_scalar(m.max)}")
    elif m.kind == "duration":
        parts.append("<= a week")
    return "; ".join(parts)


def _stack_tasks(stacks_dir: Path) -> list[str]:
    rows = ["| stack | sites | services | tasks a `load.mix` may weigh |", "|---|---|---|---|"]
    for name in available_stacks(stacks_dir):
        try:
            stack = find_stack(name, stacks_dir)
        except ChaosError as e:
            rows.append(f"| `{name}` | - | - | (its stack.yaml is invalid: {_cell(str(e).splitlines()[0])}) |")
            continue
        tasks = ", ".join(f"`{t}`" for t in stack.tasks) or "none: it takes no `load.mix`"
        rows.append(f"| `{name}` | {', '.join(stack.sites)} | {', '.join(stack.services)} | {tasks} |")
    return rows


def reference_text(stacks_dir: Path) -> str:
    """docs/experiments.md as the declarations make it now (the stacks of ``stacks_dir``)."""
    names = example_names(stacks_dir)
    first, last = names.services[0], names.services[-1]
    out = [
        "# The experiment format (version 1)",
        "",
        "<!-- Generated from the declarations that validate (chaos/reference.py); do not edit by hand.",
        f"     Regenerate: {REGENERATE} -->",
        "",
        "An experiment is one YAML file: which stack, what load, which faults at which offsets, and what",
        "must hold. `chaos-harness validate FILE` checks it against everything below (every problem at",
        "once, with file:line:col); `chaos-harness plan FILE` prints its timeline; `chaos-harness schema`",
        "gives the same format as a JSON Schema for editors. Ten complete experiments: [cookbook.md](cookbook.md).",
        "",
        "Every name (experiment, stack, site, service, task, tag) is lowercase letters, digits, `-` and `_`,",
        "starting with a letter or digit, at most 63 characters. Every duration is at most a week. The",
        f"examples use the names of the `{names.stack}` stack.",
        "",
        "## Top-level keys",
        "",
        *_param_table(_TOP_PARAMS),
        "| `tags` | list of names | - | optional | names | Labels for `chaos-harness nightly --tag`. |",
        f"| `expect` | `pass` / `fail`, or a mapping | - | default `{_EXPECT.default}` | see below | "
        f"{_cell(_EXPECT.doc)} |",
        "| `load` | mapping | - | required | see below | The load offered while the faults act. |",
        "| `faults` | list | - | optional | see below | The faults, each at its offset from the start of the load. |",
        "| `checks` | mapping | - | optional | see below | The thresholds the run must meet (the hypothesis). |",
        "| `abort_if` | list | - | optional | see below | Conditions that stop a run early. |",
        "",
        f"Required: {', '.join(f'`{k}`' for k in _TOP_REQUIRED)}.",
        "",
        "## `expect`",
        "",
        "```yaml",
        "expect: pass                              # on whatever stack the run uses (the default)",
        "expect: {dual-site: pass, single-site: fail}   # per stack: `stack:` and any --stack must be a key",
        "```",
        "",
        "A run whose verdict is the expected one exits 0, even an expected `fail`; the other verdict exits 1;",
        "an `unknown` verdict (the run could not be judged, or did not do what it says) exits 3.",
        "",
        "## `load`",
        "",
        *_param_table(_LOAD_PARAMS),
        f"| `mix` | mapping of task to weight | - | optional | weights {_cell(_bounds(_MIX_WEIGHT))} | "
        f"{_cell(_MIX_WEIGHT.doc)} Only tasks the stack declares (below); at least one weight above 0. |",
        "",
        "```yaml",
        "load:",
        "  users: 20",
        "  spawn_rate: 20",
        "  duration_s: 60",
        "  mix: {send: 3, pay: 2, read: 1}   # optional",
        "```",
        "",
        "### Each stack's tasks",
        "",
        *_stack_tasks(stacks_dir),
        "",
        "## `faults`",
        "",
        "Every fault has three keys of its own and the parameters of its type:",
        "",
        *_param_table((Param("type", "str", required=True, doc="The fault's type: one of the sections below."),
                       _AT_S)),
        f"| `target` | mapping | - | required | the stack's sites and services | What it acts on: {_TARGET_SHAPES}; "
        "which shapes a type accepts is said in its section. |",
        "",
        "A fault without a duration (or with its duration null) is healed when the load ends; every fault",
        "still active then is healed, also on Ctrl-C or an error. Faults may overlap and chain: list them",
        "in any order, each at its own `at_s`; `at_s` must be before the end of the load.",
        "",
    ]
    for name in sorted(REGISTRY):
        out += _fault_section(REGISTRY[name], names)
    ops = ", ".join(f"`{op}` ({sign})" for op, sign in _OPS.items())
    out += [
        "## `checks` (thresholds)",
        "",
        f"`checks` maps a metric to a threshold: exactly one of {ops} with a number within the",
        "metric's bounds, and optionally `service` (without it, every service must meet it). A metric takes",
        "one threshold (a mapping) or a list of them, e.g. one per service:",
        "",
        "```yaml",
        "checks:",
        "  rto_s: {max: 30}                   # every service back within 30 s of each fault",
        "  lost_writes: {max: 0}",
        "  availability:                      # the list form",
        f"    - {{min: 0.99, service: {first}}}",
        f"    - {{min: 0.5, service: {last}}}",
        "```",
        "",
        "| metric | unit | kind | bounds of a threshold | what it is |",
        "|---|---|---|---|---|",
    ]
    out += [f"| `{m.name}` | {m.unit} | {_KIND_WORDS[m.kind]} | {_metric_bounds(m.name)} | {_cell(m.doc)} |"
            for m in METRICS.values()]
    out += [
        "",
        "A service without a figure for a metric (no requests, no read-back) makes its threshold `unknown`,",
        "never a pass; an `rto_s` of a service that never recovered fails it.",
        "",
        "## `abort_if`",
        "",
        "A list of conditions on the live figures, each with exactly one kind key. The first that holds",
        "stops the load; every fault is healed, the run is judged as usual and its check `not_aborted` fails.",
        "",
        "| condition | takes |",
        "|---|---|",
    ]
    out += [f"| `{kind}` | {', '.join(f'`{k}`' for k in keys)} |" for kind, keys in _ABORT_SHAPES.items()]
    out += ["", *_param_table(_ABORT_PARAMS.values()), "",
            "```yaml",
            "abort_if:",
            "  - {all_services_failing_for_s: 60}",
            f"  - {{failing_for_s: 45, service: {last}}}",
            "  - {error_ratio_over: 0.9, window_s: 30}",
            "```",
            ""]
    return "\n".join(out)


def wrap_doc(text: str, indent: str, width: int = 100) -> list[str]:
    """A declaration's doc wrapped under a plan line."""
    return textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=indent)
