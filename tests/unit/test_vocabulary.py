"""One vocabulary for the run folder, and reports that render without judging.

Every file name of a run folder and every step and mark name of its history is spelled once, in
``chaos/run_folder.py``; every other module of ``chaos/`` uses its constants. The scan reads each
module's syntax tree (not its text): it looks at string literals that are a whole vocabulary word
(a piece of an f-string counts), and passes over docstrings and argparse's prose (``help=``,
``epilog=``, ``description=``), where the names may be mentioned for people.

Record kinds and op outcomes are not scanned: their words are also verdicts (``fail``, ``unknown``),
journal keys (``ok``, ``unknown``) and record keys (``op``); the modules use run_folder's constants
for them where they mean the history's kinds and outcomes.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from chaos import run_folder

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "chaos"

# Modules not scanned, each with why.
EXCEPTIONS = {
    # Being rewritten by another helper, who moves it onto run_folder's constants; the lead removes
    # this entry when merging that rewrite.
    "chaos/runner.py",
}

# The same word meaning something else, with how many times it may appear there. A count that no
# longer matches (more, or fewer) fails too, so this list stays exact.
ALLOWED = {
    # heal_verb: the word a plan prints for a fault's heal ("f0 healed ..."; "rebuilt" for a site
    # loss), not the history's step.
    ("chaos/faults/base.py", run_folder.HEALED): 1,
    ("chaos/faults/params.py", run_folder.HEALED): 1,
    ("chaos/schedule.py", run_folder.HEALED): 1,
    # A column heading of the report's table of faults (beside "injected").
    ("chaos/reports/html.py", run_folder.HEALED): 1,
    # reports.journal.ABORTED: the journal's key (its schema, chaos-harness/journal/1), which must
    # not change when the history's mark does.
    ("chaos/reports/journal.py", run_folder.MARK_ABORTED): 1,
}

PROSE_KEYWORDS = {"help", "epilog", "description"}  # argparse's texts for people


def vocabulary() -> dict[str, str]:
    """Every string constant of run_folder but its record kinds and outcomes: value -> its name."""
    skip = {*run_folder.KINDS, *run_folder.OUTCOMES}
    return {value: name for name, value in vars(run_folder).items()
            if name.isupper() and isinstance(value, str) and value not in skip}


def _prose(tree: ast.AST) -> set[int]:
    """ids of the string constants that are prose: docstrings (any string standing alone as a
    statement) and argparse's help texts."""
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            ids.add(id(node.value))
        elif isinstance(node, ast.keyword) and node.arg in PROSE_KEYWORDS:
            ids |= {id(n) for n in ast.walk(node.value) if isinstance(n, ast.Constant)}
    return ids


def spelled(source: str, words: dict[str, str]) -> list[tuple[int, str]]:
    """(line, word) of each string literal of ``source`` that is one of ``words``, prose aside."""
    tree = ast.parse(source)
    prose = _prose(tree)
    return sorted((node.lineno, node.value) for node in ast.walk(tree)
                  if isinstance(node, ast.Constant) and isinstance(node.value, str)
                  and node.value in words and id(node) not in prose)


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p != PACKAGE / "run_folder.py")


def test_the_vocabulary_holds_file_steps_and_marks_but_not_kinds_or_outcomes():
    words = vocabulary()
    for word in (run_folder.JOURNAL, run_folder.META, run_folder.FAULTS_HISTORY, run_folder.LOAD_HISTORY_GLOB,
                 run_folder.LOAD_HISTORY_PREFIX, run_folder.HISTORY_SUFFIX, run_folder.REPORT, run_folder.JUNIT,
                 *run_folder.STEPS, *run_folder.INTEGRITY_MARKS, run_folder.MARK_LOAD_STARTED,
                 run_folder.MARK_LOAD_STOPPED, run_folder.MARK_ABORTED):
        assert word in words, word
    assert not {*run_folder.KINDS, *run_folder.OUTCOMES} & set(words)


def test_the_scan_finds_literals_and_passes_over_prose():
    source = '''"""A docstring may say journal.json."""
import argparse

LOG = "journal.json"
parser = argparse.ArgumentParser(epilog="done")
parser.add_argument("run_dir", help="healed")


def f(pid, step):
    """inject_failed, in prose."""
    "load_stopped"
    name = f"load-{pid}.jsonl"
    return step == "done" or step == "the step is done"
'''
    assert spelled(source, vocabulary()) == [(4, "journal.json"), (12, ".jsonl"), (12, "load-"), (13, "done")]


def test_no_module_spells_a_run_folder_name_or_a_step_or_mark_itself():
    words = vocabulary()
    found: Counter = Counter()
    where: dict[tuple[str, str], list[int]] = {}
    for path in modules():
        rel = path.relative_to(ROOT).as_posix()
        if rel in EXCEPTIONS:
            continue
        for line, word in spelled(path.read_text(encoding="utf-8"), words):
            found[rel, word] += 1
            where.setdefault((rel, word), []).append(line)
    problems = [f"{rel}:{','.join(map(str, where[rel, word]))}: {word!r}: use chaos.run_folder.{words[word]}"
                for (rel, word), n in sorted(found.items()) if n > ALLOWED.get((rel, word), 0)]
    stale = [f"{rel}: {word!r} allowed {n} times, found {found[rel, word]}: update ALLOWED"
             for (rel, word), n in sorted(ALLOWED.items()) if found[rel, word] < n]
    assert not problems + stale, "\n".join(problems + stale)


def test_the_exceptions_are_modules_that_exist():
    for rel in EXCEPTIONS | {rel for rel, _ in ALLOWED}:
        assert (ROOT / rel).is_file(), rel


@pytest.mark.parametrize("module", ["chaos.reports", "chaos.reports.html"])
def test_the_reports_import_neither_analyze_nor_the_judge(module):
    """A report renders a journal: nothing in chaos.reports can judge a run (not even inside a
    function, which this import would not see, so the source is read for those too)."""
    code = (f"import sys, {module}; "
            "print(sorted(m for m in ('chaos.analyze', 'chaos.checks.judge') if m in sys.modules))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "[]"


JUDGING = ("chaos.analyze", "chaos.checks.judge")


def _imports(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module or module.name) of every import that runs (any depth; not under ``if TYPE_CHECKING``)."""
    never_run = {id(n) for node in ast.walk(tree)
                 if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING"
                 for n in ast.walk(node)}
    found = []
    for node in ast.walk(tree):
        if id(node) in never_run:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            found += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return found


def _judging(name: str) -> bool:
    return any(name == m or name.startswith(m + ".") for m in JUDGING)


def test_no_report_module_imports_analyze_or_the_judge_even_inside_a_function():
    assert _judging("chaos.checks.judge") and _judging("chaos.analyze.judge_run")
    assert not _judging("chaos.checks.windows.fault_windows")
    assert [n for _, n in _imports(ast.parse("if TYPE_CHECKING:\n    import a\ndef f():\n    from b import c\n"))] \
        == ["b.c"]
    for path in sorted((PACKAGE / "reports").glob("*.py")):
        for line, name in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            assert not _judging(name), f"{path.relative_to(ROOT)}:{line}: imports {name}"
