"""The layers of chaos/ (docs/architecture.md): no import cycle, no lower layer importing a higher one,
and the three domains (faults, load, checks) never importing each other.

Imports are read from the source with ``ast``, wherever they are (a function-level import is still a
dependency: it only hides a cycle until the function runs), except under ``if TYPE_CHECKING:``, which
never runs. Every module must be in a layer: a new one is placed here on purpose, not by accident.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CHAOS = Path(__file__).resolve().parents[2] / "chaos"

# Lowest first. A unit is a top-level module (chaos.history) or package (chaos.checks) of chaos/.
LAYERS: list[tuple[str, set[str]]] = [
    ("foundation: names, files, errors, the run folder's vocabulary",
     {"chaos", "chaos.clock", "chaos.errors", "chaos.files", "chaos.names", "chaos.run_folder"}),
    ("records and engines: what a run is made of, and the adapters to Docker and Toxiproxy",
     {"chaos.experiment", "chaos.history", "chaos.schedule", "chaos.gate", "chaos.lock",
      "chaos.engine", "chaos.toxiproxy"}),
    ("domains: what a fault does, how load is offered and recorded, how a history is judged",
     {"chaos.faults", "chaos.load", "chaos.checks"}),
    ("input: experiment files, stacks and their contract, saved run folders",
     {"chaos.loader", "chaos.stack_file", "chaos.contract", "chaos.stack", "chaos.saved_run"}),
    ("steps, views and tools over one stack or one run: the steps the runner orders, the reports",
     {"chaos.bring_up", "chaos.steady_state", "chaos.live_tally", "chaos.readback", "chaos.meta", "chaos.environment",
      "chaos.reports", "chaos.plan", "chaos.abort", "chaos.doctor", "chaos.recover",
      "chaos.reference", "chaos.stacks", "chaos.provenance"}),
    ("orchestration: a run, a game day, a night of runs",
     {"chaos.analyze", "chaos.runner", "chaos.gameday", "chaos.nightly", "chaos.pytest_plugin"}),
    ("interface", {"chaos.cli", "chaos.__main__"}),
]
DOMAINS = {"chaos.faults", "chaos.load", "chaos.checks"}  # siblings that never import each other


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_only(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def imports_of(path: Path, root: Path, modules: set[str]) -> set[str]:
    """The modules of ``modules`` that the file imports, anywhere but under ``if TYPE_CHECKING:``."""
    found: set[str] = set()
    package = root.name

    def visit(node: ast.AST) -> None:
        if _type_checking_only(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == package)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and node.module.split(".")[0] == package:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in modules)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(), str(path)))
    return {m for m in found if m in modules}


def graph(root: Path) -> dict[str, set[str]]:
    files = {module_name(p, root): p for p in root.rglob("*.py")}
    return {name: imports_of(path, root, set(files)) - {name} for name, path in files.items()}


def unit_of(module: str) -> str:
    return ".".join(module.split(".")[:2])


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            strong(v)
    return found


def unit_edges(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    units: dict[str, set[str]] = {}
    for a, targets in edges.items():
        units.setdefault(unit_of(a), set()).update(unit_of(b) for b in targets if unit_of(b) != unit_of(a))
    return units


def module_edges_without_parents(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    """The module graph without a package's own __init__ and its modules importing each other
    (Python runs a package's __init__ before its modules; that pair is how packages are made)."""
    return {a: {b for b in targets if not (a.startswith(b + ".") or b.startswith(a + "."))}
            for a, targets in edges.items()}


def violations(root: Path, layers=LAYERS, domains=DOMAINS) -> list[str]:
    edges = graph(root)
    level = {unit: i for i, (_, units) in enumerate(layers) for unit in units}
    problems = [f"{u}: in no layer; place it in tests/unit/test_architecture.py LAYERS and docs/architecture.md"
                for u in sorted({unit_of(m) for m in edges}) if u not in level]
    for a, targets in sorted(unit_edges(edges).items()):
        for b in sorted(targets):
            if a in level and b in level and level[b] > level[a]:
                problems.append(f"{a} (layer {level[a]}: {layers[level[a]][0].split(':')[0]}) imports {b} "
                                f"(layer {level[b]}: {layers[level[b]][0].split(':')[0]}), a higher layer")
            if a in domains and b in domains:
                problems.append(f"{a} imports {b}: the domains never import each other")
    problems += [f"import cycle between units: {' <-> '.join(c)}" for c in cycles(unit_edges(edges))]
    problems += [f"import cycle between modules: {' <-> '.join(c)}"
                 for c in cycles(module_edges_without_parents(edges))]
    return problems


def test_chaos_has_no_import_cycle_and_no_upward_import():
    assert violations(CHAOS) == []


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "chaos"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


LAYERS_OF_A_TOY = [("low", {"chaos", "chaos.files"}), ("mid", {"chaos.faults", "chaos.checks"}),
                   ("high", {"chaos.runner"})]


def test_the_check_finds_an_upward_import_even_inside_a_function(tmp_path):
    root = _tree(tmp_path, {"__init__.py": "", "runner.py": "import chaos.files\n",
                            "files.py": "def f():\n    from chaos.runner import x\n"})
    assert any("chaos.files (layer 0: low) imports chaos.runner" in p for p in violations(root, LAYERS_OF_A_TOY, set()))


def test_the_check_finds_a_cycle_and_domains_importing_each_other(tmp_path):
    root = _tree(tmp_path, {"__init__.py": "", "faults/__init__.py": "from chaos.checks import y\n",
                            "checks/__init__.py": "from chaos.faults import x\n"})
    problems = violations(root, LAYERS_OF_A_TOY, {"chaos.faults", "chaos.checks"})
    assert "import cycle between units: chaos.checks <-> chaos.faults" in problems
    assert "chaos.faults imports chaos.checks: the domains never import each other" in problems


def test_the_check_ignores_type_checking_imports_and_names_a_module_in_no_layer(tmp_path):
    root = _tree(tmp_path, {"__init__.py": "", "files.py": "if TYPE_CHECKING:\n    from chaos.runner import R\n",
                            "runner.py": "from chaos.files import x\n", "stray.py": ""})
    assert violations(root, LAYERS_OF_A_TOY, set()) == [
        "chaos.stray: in no layer; place it in tests/unit/test_architecture.py LAYERS and docs/architecture.md"]


@pytest.mark.parametrize("module", ["chaos.loader", "chaos.plan", "chaos.checks.metrics"])
def test_validating_and_planning_import_neither_docker_nor_requests(module):
    import subprocess
    import sys

    code = f"import sys, {module}; print(' '.join(m for m in ('docker', 'requests') if m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split() == []
