"""The experiment loader: shipped files load, every mistake is reported with its line, all at once."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from chaos.errors import ExperimentInvalid, InvalidInput
from chaos.experiment import FaultSpec, Load, Target, Threshold
from chaos.faults.params import REGISTRY, FaultDecl, Param, register
from chaos.loader import json_schema, load_experiment, load_experiment_text, validate_targets

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "experiments").glob("*.yaml"))
INVALID = sorted((Path(__file__).parent / "invalid").glob("*.yaml"))
EXPECT = re.compile(r"# expect: (\d+) (.+)")

VALID = """\
name: demo
stack: dual-site
load: {users: 20, spawn_rate: 20, duration_s: 60}
"""


def problems_of(text: str) -> list:
    with pytest.raises(ExperimentInvalid) as caught:
        load_experiment_text(text, "demo.yaml")
    return caught.value.problems


# Shipped experiments.


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_experiments_load(path: Path) -> None:
    experiment = load_experiment(path)
    assert experiment.name == path.stem
    assert experiment.source == str(path)


def test_pangyo_power_cut_reads_exactly() -> None:
    experiment = load_experiment(ROOT / "experiments" / "pangyo-power-cut.yaml")
    assert experiment.stack == "dual-site"
    assert experiment.expect == "pass"
    assert experiment.expect_by_stack == {"dual-site": "pass", "single-site": "fail", "dual-site-no-local-reads": "fail",
                                          "dual-site-engines": "pass"}
    assert experiment.with_stack("single-site").expect == "fail"
    assert experiment.tags == ("nightly", "site", "demo")
    assert experiment.load == Load(users=20, spawn_rate=20.0, duration_s=60.0, mix={})
    assert experiment.faults == (
        FaultSpec("power_cut", Target(site="pangyo"), 15.0, {"power_returns_after_s": 30.0}, line=24),
    )
    assert experiment.checks == (
        Threshold("rto_s", "<=", 30.0),
        Threshold("rto_s", "<=", 30.0, kind="write"),
        Threshold("rto_s", "<=", 5.0, kind="read"),
        Threshold("stale_reads", "<=", 0.0),
        Threshold("lost_writes", "<=", 0.0),
        Threshold("acked_writes", ">=", 100.0),
    )
    assert experiment.recovery_wait_s == 30.0
    assert experiment.rto_consecutive_ok == 5
    assert experiment.description.startswith("On 15 October 2022")
    assert not experiment.description.endswith("\n")


# The corpus of invalid files: each names the line and message it must produce.


def test_corpus_is_large_enough() -> None:
    assert len(INVALID) >= 20


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_invalid_file_is_reported(path: Path) -> None:
    expected = EXPECT.match(path.read_text().splitlines()[0])
    assert expected, f"{path.name} must start with '# expect: <line> <message>'"
    line, message = int(expected[1]), expected[2]
    with pytest.raises(ExperimentInvalid) as caught:
        load_experiment(path)
    problems = caught.value.problems
    matching = [p for p in problems if p.line == line and message in p.message]
    assert matching, "\n".join(str(p) for p in problems)
    assert path.name in str(matching[0])
    assert str(matching[0]).startswith(f"{path}:{line}:")


def test_three_mistakes_are_all_reported() -> None:
    problems = problems_of(
        """\
name: demo
stack: dual-site
load:
  users: many
  spawn_rate: 20
  duration_s: 60
faults:
  - type: power_cutt
    target: {site: pangyo}
    at_s: 15
checks:
  rto: {max: 15}
"""
    )
    assert [(p.line, p.path) for p in problems] == [(4, "load.users"), (8, "faults[0].type"), (12, "checks.rto")]
    assert "expected an integer, got 'many'" in problems[0].message
    assert "did you mean 'power_cut'?" in problems[1].message
    assert "unknown metric 'rto'; did you mean 'rto_s'?" in problems[2].message


def test_problem_carries_line_column_and_path() -> None:
    (problem,) = problems_of(VALID.replace("users: 20", "users: -3"))
    assert (problem.line, problem.column, problem.path) == (3, 15, "load.users")
    assert str(problem) == "demo.yaml:3:15: load.users: must be >= 1, got -3"


def test_unknown_key_without_a_close_match_lists_the_allowed_ones() -> None:
    (problem,) = problems_of(VALID + "colour: red\n")
    assert problem.message == (
        "unknown key 'colour'; expected one of: name, description, stack, tags, expect, load, faults, checks, "
        "abort_if, rto_consecutive_ok, recovery_wait_s"
    )


def test_missing_required_keys_are_reported_at_the_parent_mapping() -> None:
    problems = problems_of("# a comment\ndescription: nothing else\n")
    assert [(p.line, p.message) for p in problems] == [
        (2, "missing required key 'name'"),
        (2, "missing required key 'stack'"),
        (2, "missing required key 'load'"),
    ]


def test_missing_file_is_invalid_input(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(InvalidInput, match="nope.yaml: no such experiment file"):
        load_experiment(missing)


def test_non_utf8_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(VALID.encode() + "description: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ExperimentInvalid) as caught:
        load_experiment(path)
    assert [(p.line, p.message) for p in caught.value.problems] == [(4, "not UTF-8 text")]


@pytest.mark.parametrize("name, text, where", [
    ("sequences", "- " * 33 + "x\n", (1, 65)),
    ("mappings", "".join(f"{'  ' * i}k{i}:\n" for i in range(33)) + "  " * 33 + "v\n", (33, 65)),
    ("5000 sequences", "- " * 5000 + "x\n", (1, 65)),  # composing it unbounded: a RecursionError
])
def test_block_nesting_deeper_than_max_depth_is_refused_where_it_begins(name, text, where) -> None:
    """Block style (the flow style's brackets are counted before PyYAML sees them): MAX_DEPTH lists
    or mappings nested read; one more is refused at the line and column where it begins."""
    from chaos.loader import MAX_DEPTH, Reader

    assert MAX_DEPTH == 32
    reader = Reader("deep.yaml")
    assert reader.compose(text) is None
    assert [(p.line, p.column, p.message) for p in reader.problems] == [
        (*where, "lists and mappings nested deeper than 32 levels; write a flatter file")]
    reader = Reader("deep.yaml")
    allowed = "- " * 32 + "x\n" if "sequences" in name else text.replace("  " * 32 + "k32:\n" + "  " * 33, "  " * 32)
    assert reader.compose(allowed) is not None and reader.problems == []


# What a valid file becomes.


def test_defaults_are_filled_in() -> None:
    experiment = load_experiment_text(
        VALID
        + """\
faults:
  - type: latency
    target: {link: [pangyo, chuncheon]}
    at_s: 5
    latency_ms: 250
    duration_s: 20
  - type: kill
    target: {service: login, site: pangyo}
    at_s: 10
  - type: power_cut
    target: {site: chuncheon}
    at_s: 30
""",
        "demo.yaml",
    )
    latency, kill, power_cut = experiment.faults
    assert latency.params == {"latency_ms": 250, "jitter_ms": 0, "duration_s": 20.0, "direction": "both"}
    assert latency.target == Target(link=("pangyo", "chuncheon"))
    assert latency.line == 5
    assert kill.params == {"signal": "SIGKILL"}
    assert kill.target == Target(site="pangyo", service="login")
    assert power_cut.params == {"power_returns_after_s": None}
    assert experiment.description == ""
    assert experiment.expect == "pass"
    assert experiment.tags == ()
    assert experiment.checks == ()
    assert (experiment.rto_consecutive_ok, experiment.recovery_wait_s) == (5, 30.0)


def test_thresholds_per_service_and_mix() -> None:
    experiment = load_experiment_text(
        VALID.replace("duration_s: 60}", "duration_s: 60, mix: {send: 3, pay: 2}}")
        + """\
checks:
  rto_s: [{max: 10, service: login}, {max: 30}]
  availability: {min: 0.5}
  duplicate_writes: {equals: 0}
""",
        "demo.yaml",
    )
    assert experiment.load.mix == {"send": 3, "pay": 2}
    assert experiment.checks == (
        Threshold("rto_s", "<=", 10.0, "login"),
        Threshold("rto_s", "<=", 30.0),
        Threshold("availability", ">=", 0.5),
        Threshold("duplicate_writes", "==", 0.0),
    )


def test_explicit_null_means_never_for_optional_params() -> None:
    text = VALID + "faults:\n  - {type: power_cut, target: {site: pangyo}, at_s: 1, power_returns_after_s: null}\n"
    (fault,) = load_experiment_text(text, "demo.yaml").faults
    assert fault.params == {"power_returns_after_s": None}


# The WAN faults and site_stop: defaults, and what each refuses.

_FAULT = "faults:\n  - {{type: {type}, target: {target}, at_s: 5{extra}}}\n"
_LINK = "{link: [pangyo, chuncheon]}"


@pytest.mark.parametrize(
    ("kind", "target", "extra", "params"),
    [
        ("bandwidth", _LINK, ", rate_kbps: 800, duration_s: 10",
         {"rate_kbps": 800, "duration_s": 10.0, "direction": "both"}),
        ("cut", _LINK, ", duration_s: 10", {"duration_s": 10.0}),
        ("timeout", _LINK, ", duration_s: 10", {"timeout_ms": 0, "duration_s": 10.0, "direction": "both"}),
        ("timeout", _LINK, ", duration_s: 1.5, timeout_ms: 500, direction: downstream",
         {"timeout_ms": 500, "duration_s": 1.5, "direction": "downstream"}),
        ("reset_peer", _LINK, ", duration_s: 10", {"timeout_ms": 0, "duration_s": 10.0, "direction": "both"}),
        ("isolate", "{site: pangyo}", ", duration_s: 25", {"duration_s": 25.0}),
        ("site_stop", "{site: pangyo}", "", {"grace_s": 10, "duration_s": None}),
        ("site_stop", "{site: pangyo}", ", grace_s: 0, duration_s: 30", {"grace_s": 0, "duration_s": 30.0}),
        ("site_loss", "{site: pangyo}", "", {"rebuild_after_s": None}),
        ("site_loss", "{site: pangyo}", ", rebuild_after_s: 0", {"rebuild_after_s": 0.0}),
        ("site_loss", "{site: pangyo}", ", rebuild_after_s: 30", {"rebuild_after_s": 30.0}),
    ],
)
def test_new_fault_types_load_with_their_defaults(kind: str, target: str, extra: str, params: dict) -> None:
    text = VALID + _FAULT.format(type=kind, target=target, extra=extra)
    (fault,) = load_experiment_text(text, "demo.yaml").faults
    assert (fault.type, dict(fault.params)) == (kind, params)


@pytest.mark.parametrize(
    ("kind", "target", "extra", "path", "message"),
    [
        ("bandwidth", _LINK, ", duration_s: 10", "faults[0]", "missing required key 'rate_kbps'"),
        ("bandwidth", _LINK, ", rate_kbps: 0, duration_s: 10", "faults[0].rate_kbps", "must be >= 8, got 0"),
        ("bandwidth", _LINK, ", rate_kbps: 1.5, duration_s: 10", "faults[0].rate_kbps", "expected an integer"),
        ("cut", _LINK, ", duration_s: 0", "faults[0].duration_s", "must be > 0, got 0"),
        ("cut", "{site: pangyo}", ", duration_s: 5", "faults[0].target", "cut cannot target a site"),
        ("cut", _LINK, ", duration_s: 5, latency_ms: 3", "faults[0].latency_ms", "unknown key 'latency_ms'"),
        ("timeout", _LINK, ", duration_s: 5, timeout_ms: -5", "faults[0].timeout_ms", "must be >= 0, got -5"),
        ("timeout", _LINK, ", duration_s: 5, direction: sideways", "faults[0].direction", "'sideways' is not one of"),
        ("reset_peer", _LINK, "", "faults[0]", "missing required key 'duration_s'"),
        ("isolate", "{site: pangyo}", "", "faults[0]", "missing required key 'duration_s'"),
        ("isolate", "{service: login}", ", duration_s: 5", "faults[0].target", "isolate cannot target a service"),
        ("site_stop", "{site: pangyo}", ", grace_s: -1", "faults[0].grace_s", "must be >= 0, got -1"),
        ("site_stop", "{site: pangyo}", ", grace_s: 601", "faults[0].grace_s", "must be <= 600, got 601"),
        ("site_stop", "{site: pangyo}", ", duration_s: -3", "faults[0].duration_s", "must be > 0, got -3"),
        ("site_stop", _LINK, "", "faults[0].target", "site_stop cannot target a link; it targets: site"),
        ("site_loss", "{site: pangyo}", ", rebuild_after_s: true", "faults[0].rebuild_after_s",
         "expected a number of seconds, got a boolean (true)"),
        ("site_loss", _LINK, "", "faults[0].target", "site_loss cannot target a link; it targets: site"),
        ("site_loss", "{site: pangyo}", ", duration_s: 5", "faults[0].duration_s",
         "unknown key 'duration_s'; expected one of: type, target, at_s, rebuild_after_s"),
    ],
)
def test_new_fault_types_refuse_bad_params(kind: str, target: str, extra: str, path: str, message: str) -> None:
    problems = problems_of(VALID + _FAULT.format(type=kind, target=target, extra=extra))
    assert [(p.line, p.path) for p in problems if message in p.message] == [(5, path)], problems


# expect: one verdict, or a verdict per stack.

_PER_STACK = VALID.replace("stack: dual-site\n", "stack: dual-site\nexpect: {dual-site: pass, single-site: fail}\n")


def test_a_scalar_expect_holds_on_any_stack() -> None:
    experiment = load_experiment_text(VALID.replace("stack: dual-site\n", "stack: dual-site\nexpect: fail\n"),
                                      "demo.yaml")
    assert (experiment.expect, experiment.expect_by_stack) == ("fail", {})
    for stack in ("single-site", "kv-sentinel", "anything"):
        moved = experiment.with_stack(stack)
        assert (moved.stack, moved.expect, moved.expect_by_stack) == (stack, "fail", {})
    assert experiment.expectations() == "fail"


def test_expect_per_stack_resolves_for_the_stack_in_use() -> None:
    experiment = load_experiment_text(_PER_STACK, "demo.yaml")
    assert experiment.expect_by_stack == {"dual-site": "pass", "single-site": "fail"}
    assert list(experiment.expect_by_stack) == ["dual-site", "single-site"]  # as written
    assert (experiment.stack, experiment.expect) == ("dual-site", "pass")
    single = experiment.with_stack("single-site")
    assert (single.stack, single.expect) == ("single-site", "fail")
    assert single.expect_by_stack == experiment.expect_by_stack
    assert single.with_stack("dual-site").expect == "pass"
    assert experiment.expectations() == "pass on dual-site, fail on single-site"


def test_a_stack_the_mapping_does_not_name_is_invalid_input() -> None:
    experiment = load_experiment_text(_PER_STACK, "demo.yaml")
    with pytest.raises(ExperimentInvalid) as caught:
        experiment.with_stack("kv-sentinel")
    assert isinstance(caught.value, InvalidInput) and caught.value.exit_code == 2
    (problem,) = caught.value.problems
    assert (problem.file, problem.path) == ("demo.yaml", "expect")
    assert problem.message.startswith("no expectation for stack 'kv-sentinel': the file declares one only for "
                                      "dual-site, single-site")


def test_expect_in_block_style_with_a_single_stack() -> None:
    text = VALID.replace("stack: dual-site\n", "stack: single-site\nexpect:\n  single-site: fail\n")
    experiment = load_experiment_text(text, "demo.yaml")
    assert (experiment.stack, experiment.expect, experiment.expect_by_stack) == (
        "single-site", "fail", {"single-site": "fail"})


@pytest.mark.parametrize(
    ("expect", "at", "path", "message"),
    [
        ("{dual-site: pas, single-site: fail}", "pas", "expect.dual-site",
         "'pas' is not one of pass, fail; did you mean 'pass'?"),
        ("{dual-site: pass, single-site: fial}", "fial", "expect.single-site",
         "'fial' is not one of pass, fail; did you mean 'fail'?"),
        ("{dual-site: pass, single-site: FAIL}", "FAIL", "expect.single-site", "'FAIL' is not one of pass, fail"),
        ("{dual-site: pass, single-site: true}", "true", "expect.single-site",
         "expected a string, got a boolean (true)"),
        ("{dual-site: pass, single-site: {x: 1}}", "{x", "expect.single-site", "expected a string, got a mapping"),
        ("{dual-site: pass, ../etc: fail}", "../etc", "expect.../etc", "expected a stack name"),
        ("{dual-site: pass, dual-site: fail}", "dual-site", "expect.dual-site", "duplicate key 'dual-site'"),
        ("{}", "{", "expect", "got an empty mapping"),
        ("[pass]", "[", "expect", "expected pass, fail or a mapping of stack to verdict"),
        ("pas", "pas", "expect", "'pas' is not one of pass, fail; did you mean 'pass'?"),
    ],
)
def test_bad_expect_is_reported_where_it_is_written(expect: str, at: str, path: str, message: str) -> None:
    """Each problem at line 3, at the (last) place ``at`` is written in ``expect: ...``."""
    problems = problems_of(VALID.replace("stack: dual-site\n", f"stack: dual-site\nexpect: {expect}\n"))
    column = len("expect: ") + expect.rindex(at) + 1
    assert [(p.line, p.column, p.path) for p in problems if message in p.message] == [(3, column, path)], problems
    assert len(problems) == 1, problems


def test_the_stack_must_be_one_the_mapping_names() -> None:
    problems = problems_of(VALID.replace("stack: dual-site\n", "stack: dual-site\nexpect: {kv-sentinel: fail}\n"))
    assert [(p.line, p.column, p.path, p.message) for p in problems] == [
        (2, 8, "stack", "stack 'dual-site' has no verdict in expect; expect names: kv-sentinel")]
    problems = problems_of(VALID.replace("stack: dual-site\n",
                                         "stack: dual-site\nexpect: {dual-sit: pass, single-site: fail}\n"))
    assert [(p.line, p.column, p.path) for p in problems] == [(2, 8, "stack")]
    assert "did you mean 'dual-sit'? expect names: dual-sit, single-site" in problems[0].message


def _fits(schema: dict, value: object) -> bool:
    """Whether ``value`` fits one of the expect schema's branches (the JSON Schema keywords it uses)."""
    def fits(branch: dict) -> bool:
        if branch["type"] == "string":
            return isinstance(value, str) and value in branch["enum"]
        return (isinstance(value, dict) and len(value) >= branch["minProperties"]
                and all(re.fullmatch(branch["propertyNames"]["pattern"].strip("^$"), k) for k in value)
                and all(fits_verdict(branch["additionalProperties"], v) for v in value.values()))

    def fits_verdict(verdict: dict, v: object) -> bool:
        return verdict["type"] == "string" and isinstance(v, str) and v in verdict["enum"]

    return sum(fits(branch) for branch in schema["oneOf"]) == 1


def test_json_schema_takes_one_verdict_or_a_verdict_per_stack() -> None:
    schema = json.loads(json.dumps(json_schema()))["properties"]["expect"]
    scalar, per_stack = schema["oneOf"]
    assert (scalar["type"], scalar["enum"]) == ("string", ["pass", "fail"])
    assert per_stack["type"] == "object"
    assert per_stack["additionalProperties"] == {"type": "string", "enum": ["pass", "fail"]}
    assert schema["default"] == "pass"
    assert _fits(schema, "pass") and _fits(schema, "fail")
    assert _fits(schema, {"dual-site": "pass", "single-site": "fail"})
    for bad in ("pas", {}, {"dual-site": "maybe"}, {"Dual Site": "pass"}, ["pass"], True):
        assert not _fits(schema, bad), bad


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_json_schema_accepts_the_shipped_expect(path: Path) -> None:
    import yaml

    document = yaml.safe_load(path.read_text())
    assert _fits(json_schema()["properties"]["expect"], document.get("expect", "pass"))


# Targets against a stack.


def test_validate_targets_names_unknown_sites_and_services() -> None:
    experiment = load_experiment_text(
        VALID
        + """\
faults:
  - {type: power_cut, target: {site: pangyoo}, at_s: 1}
  - {type: kill, target: {service: payment}, at_s: 2}
  - {type: latency, target: {link: [pangyo, witnes]}, at_s: 3, latency_ms: 5, duration_s: 1}
""",
        "demo.yaml",
    )
    problems = validate_targets(experiment, {"pangyo", "chuncheon", "witness"}, {"login", "messaging"})
    assert [(p.line, p.path) for p in problems] == [
        (5, "faults[0].target.site"),
        (6, "faults[1].target.service"),
        (7, "faults[2].target.link[1]"),
    ]
    assert problems[0].message == "unknown site 'pangyoo'; did you mean 'pangyo'? known: chuncheon, pangyo, witness"
    assert problems[1].message == "unknown service 'payment'; known: login, messaging"
    assert str(problems[0]).startswith("demo.yaml:5: faults[0].target.site:")


def test_validate_targets_accepts_known_targets() -> None:
    experiment = load_experiment(ROOT / "experiments" / "pangyo-power-cut.yaml")
    assert validate_targets(experiment, {"pangyo", "chuncheon", "witness"}, set()) == []


# Fault declarations.


def test_builtin_fault_types_are_registered() -> None:
    assert {"power_cut", "kill", "pause", "latency", "bandwidth", "cut", "timeout", "reset_peer", "isolate",
            "site_stop", "site_loss"} <= set(REGISTRY)
    assert REGISTRY["pause"].targets == ("service", "site")


def test_register_refuses_a_conflicting_declaration() -> None:
    assert register(REGISTRY["kill"]) is REGISTRY["kill"]
    with pytest.raises(ValueError, match="already registered"):
        register(FaultDecl("kill", ("site",), ()))


def test_param_declarations_are_checked() -> None:
    with pytest.raises(ValueError, match="kind"):
        Param("x", "float")
    with pytest.raises(ValueError, match="targets"):
        FaultDecl("boom", ("planet",), ())


@pytest.mark.parametrize(
    ("param", "value", "message"),
    [
        (Param("n", "number"), float("nan"), "expected a finite number"),
        (Param("n", "number"), "1", "expected a number, got '1'"),
        (Param("b", "bool"), 1, "expected true or false, got 1"),
        (Param("d", "duration"), -1, "must be >= 0, got -1"),
        (Param("s", "str", required=True), None, "expected a string, got nothing"),
    ],
)
def test_param_validate_messages(param: Param, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        param.validate(value)


# JSON Schema.


def test_json_schema_is_json_and_covers_the_format() -> None:
    schema = json.loads(json.dumps(json_schema()))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["required"] == ["name", "stack", "load"]
    fault_types = [branch["properties"]["type"]["const"] for branch in schema["properties"]["faults"]["items"]["oneOf"]]
    assert fault_types == sorted(REGISTRY)
    latency = next(b for b in schema["properties"]["faults"]["items"]["oneOf"] if b["title"] == "latency")
    assert latency["properties"]["direction"]["enum"] == ["both", "upstream", "downstream"]
    assert latency["required"] == ["type", "target", "at_s", "latency_ms", "duration_s"]
    for branch in latency["properties"]["target"]["oneOf"]:
        assert branch["$ref"].removeprefix("#/$defs/") in schema["$defs"]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_json_schema_accepts_the_shipped_structure(path: Path) -> None:
    import yaml

    document = yaml.safe_load(path.read_text())
    schema = json_schema()
    properties = schema["properties"]
    assert set(schema["required"]) <= set(document) <= set(properties)
    assert set(document["load"]) <= set(properties["load"]["properties"])
    assert set(document.get("checks", {})) <= set(properties["checks"]["properties"])
    branches = {b["properties"]["type"]["const"]: b for b in properties["faults"]["items"]["oneOf"]}
    for fault in document.get("faults", []):
        branch = branches[fault["type"]]
        assert set(branch["required"]) <= set(fault) <= set(branch["properties"])
