"""The experiment loader under fuzzing: 2,000 generated documents (500 in ``make unit``) (the real experiments of
experiments/ with random edits to their text or random values in their fields, random structures
dumped as YAML, random YAML punctuation), each either loads or is refused with ExperimentInvalid
(exit 2) whose every problem carries a line and no raw control character, never another exception,
and each within a second. Derandomized and without an example database: the same documents on
every run, so it cannot flake. On the loader before issue 14's fixes it fails four of its five
tests (OverflowError, RecursionError, a raw control character).
"""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaos.errors import EXIT_INVALID_INPUT, ExperimentInvalid
from chaos.experiment import Experiment
from chaos.loader import _TOP_KEYS, CHECK_METRICS, load_experiment_text, validate_targets
from chaos.faults.params import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "experiments").glob("*.yaml"))]
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# ``make unit`` (the quick loop) draws a quarter of the documents, the first of the same derandomized
# sequence; ``make test`` and ``make fuzz`` (CHAOS_FUZZ_SCALE=1) draw them all.
FUZZ_SCALE = float(os.environ.get("CHAOS_FUZZ_SCALE", "0.25"))


def fuzz(examples: int) -> settings:
    return settings(max_examples=max(20, round(examples * FUZZ_SCALE)), derandomize=True, database=None, deadline=10_000, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Words the loader knows, so that generated documents reach deep into it instead of stopping at an
# unknown top-level key.
KEYS = sorted({*_TOP_KEYS, *CHECK_METRICS, *REGISTRY, "users", "spawn_rate", "duration_s", "mix", "type",
               "target", "at_s", "site", "service", "link", "max", "min", "equals", "signal", "latency_ms",
               "power_returns_after_s", "failing_for_s", "error_ratio_over", "window_s", "pangyo", "witness",
               "dual-site", "pass", "fail", "send", "SIGKILL"})
SCALARS = st.one_of(
    st.none(), st.booleans(), st.sampled_from(KEYS),
    st.integers(), st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
    # The edges a careless or hostile file reaches for: past a float, past every bound, control characters.
    st.sampled_from([10**400, -(10**400), 2**1024, 10**20, 1e300, -1e300, 5e-324, 0.4, "\x1b[31m", "../../tmp/x",
                     "a" * 300, "SIGKIL"]),
)
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), inner,
                                                max_size=4)), max_leaves=12)
DOCUMENTS = st.fixed_dictionaries(
    {}, optional={key: VALUES for key in _TOP_KEYS}
).map(lambda d: yaml.safe_dump(d, allow_unicode=True, sort_keys=False))

# YAML's punctuation and what breaks it: mutations made of these reach the parser's corners.
ALPHABET = st.sampled_from(list("[]{}:,-#&*!|>'\"%@`?\t\n ") + ["  ", "\n  ", "- ", ": ", "&a ", "*a", "!!python/object ",
                                                                 "<<: ", "1e300", "9" * 40, ".inf", "~", "\x1b",
                                                                 "\x00", "\ufeff", "\u2028", "[" * 1500, "{a: " * 700, "- " * 1500])


SEEDS = [yaml.safe_load(text) for text in EXPERIMENTS]


def _paths(tree, prefix: tuple = ()):
    """The path (keys and indexes) of every node below the root of a loaded document."""
    items = tree.items() if isinstance(tree, dict) else enumerate(tree) if isinstance(tree, list) else ()
    for key, value in items:
        yield (*prefix, key)
        yield from _paths(value, (*prefix, key))


@st.composite
def replaced(draw) -> str:
    """A real experiment with one to three of its values (or whole sections) replaced by random
    ones: the way to reach every field with huge numbers, wrong types and odd strings."""
    tree = copy.deepcopy(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(_paths(tree))))
        parent = tree
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = draw(VALUES)
    return yaml.safe_dump(tree, allow_unicode=True, sort_keys=False)


@st.composite
def mutated(draw) -> str:
    """A real experiment with a few random edits: characters inserted, deleted or replaced; lines
    deleted, duplicated or swapped."""
    text = draw(st.sampled_from(EXPERIMENTS))
    for _ in range(draw(st.integers(1, 4))):
        lines = text.split("\n")
        edit = draw(st.sampled_from(("insert", "delete", "replace", "drop-line", "copy-line", "swap-lines")))
        if edit in ("insert", "delete", "replace"):
            at = draw(st.integers(0, len(text)))
            length = draw(st.integers(0, 12))
            new = "".join(draw(st.lists(ALPHABET, max_size=4))) if edit != "delete" else ""
            cut = length if edit != "insert" else 0
            text = text[:at] + new + text[at + cut:]
        else:
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            if edit == "drop-line":
                del lines[i]
            elif edit == "copy-line":
                lines.insert(j, lines[i])
            else:
                lines[i], lines[j] = lines[j], lines[i]
            text = "\n".join(lines)
    return text


def stack_checks(experiment: Experiment) -> None:
    """What loads (or what of a refused file could be read) goes on to the stack's checks without an
    exception either."""
    problems = validate_targets(
        experiment, {"pangyo", "chuncheon", "witness"}, {"login", "messaging", "payment"}, stack="dual-site",
        tasks={"send", "pay"}, links={frozenset(("pangyo", "chuncheon"))},
        placement={("pangyo", "login"), ("pangyo", None)}, wan_types={"latency", "cut"})
    for problem in problems:
        assert not CONTROL.search(str(problem)), str(problem)


def loads_or_is_refused_with_lines(text: str) -> None:
    try:
        experiment = load_experiment_text(text, "fuzz.yaml")
    except ExperimentInvalid as refused:
        assert refused.exit_code == EXIT_INVALID_INPUT
        assert refused.problems
        for problem in refused.problems:
            assert isinstance(problem.line, int) and problem.line >= 1, problem
            assert not CONTROL.search(str(problem)), str(problem)
        if refused.partial is not None:
            stack_checks(refused.partial)
        return
    assert isinstance(experiment, Experiment)
    stack_checks(experiment)


@fuzz(700)
@given(mutated())
def test_mutated_real_experiments_load_or_are_refused_with_a_line(text):
    loads_or_is_refused_with_lines(text)


@fuzz(250)
@given(DOCUMENTS)
def test_random_documents_load_or_are_refused_with_a_line(text):
    loads_or_is_refused_with_lines(text)


@fuzz(500)
@given(replaced())
def test_real_experiments_with_random_values_load_or_are_refused_with_a_line(text):
    loads_or_is_refused_with_lines(text)


@fuzz(550)
@given(st.lists(ALPHABET | st.characters(), max_size=120).map(''.join))
def test_random_text_loads_or_is_refused_with_a_line(text):
    loads_or_is_refused_with_lines(text)


def test_the_mutations_start_from_experiments_that_load():
    """A mutation of a broken seed would only test the refusal of that one problem."""
    for text in EXPERIMENTS:
        load_experiment_text(text, "seed.yaml")
