"""Hostile inputs: every one is refused by ``chaos-harness validate`` with exit 2, one message per
problem, each naming what is wrong, in under a second, without a traceback or a raw control
character on the terminal.

The experiment corpus is ``tests/data/hostile/*.yaml``: each file starts with one
``# expect: FRAGMENT [&& FRAGMENT...]`` line per problem the harness must report (the fragments of
one line must all be in that one message). Inputs that cannot live in a file of the repository
(a FIFO, /dev/zero, a file over 1 MiB, a ``--stack`` argument, a broken ``stack.yaml``) are made
here.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from chaos import cli
from chaos.errors import EXIT_INVALID_INPUT

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = ROOT / "tests" / "data" / "hostile"
CORPUS = sorted(HOSTILE.glob("*.yaml"))
VALID = ROOT / "experiments" / "pangyo-power-cut.yaml"
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # anything but \t and \n


# A hang guard, not a speed goal: the "under a second" is measured (bench/validate_hostile.py),
# and a shared CI machine must not turn a slow second into a red build.
HANG_S = 10.0


def expectations(path: Path) -> list[list[str]]:
    """The ``# expect:`` lines of a corpus file: per problem, the fragments its message must hold."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.removeprefix("# expect: ").split(" && ") for line in lines if line.startswith("# expect: ")]


def validate(capsys, *args: str) -> tuple[int, list[str]]:
    """``chaos-harness validate ARGS``: (exit code, the lines it printed on stderr)."""
    start = time.monotonic()
    code = cli.main(["validate", *args])
    elapsed = time.monotonic() - start
    out, err = capsys.readouterr()
    assert elapsed < HANG_S, f"validate took {elapsed:.2f} s"
    assert "Traceback" not in out + err
    assert not CONTROL.search(out + err), f"a raw control character reached the terminal: {err!r}"
    return code, err.removeprefix("chaos-harness: ").splitlines()


@pytest.fixture(autouse=True)
def reference_stacks(monkeypatch):
    monkeypatch.setenv("CHAOS_STACKS_DIR", str(ROOT / "stacks"))


def test_the_corpus_is_large_and_each_file_says_what_it_expects():
    assert len(CORPUS) >= 40
    for path in CORPUS:
        assert expectations(path), f"{path.name} has no # expect: line"


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_hostile_experiment_is_refused_with_one_message_per_problem(capsys, path):
    code, lines = validate(capsys, str(path))
    assert code == EXIT_INVALID_INPUT, lines
    expected = expectations(path)
    assert len(lines) == len(expected), lines
    for fragments in expected:
        matching = [line for line in lines if all(f in line for f in fragments)]
        assert matching, f"no message holds {fragments}: {lines}"
    for line in lines:
        assert re.match(rf"{re.escape(str(path))}:\d+(:\d+)?: ", line), f"no file:line in {line!r}"


def test_stack_option_that_is_no_stack_is_refused(capsys, tmp_path, monkeypatch):
    """``--stack ../x``: a path is a folder of its own (relative to the current folder), never joined
    onto the stacks root; a folder without a stack.yaml, or a bad name, is refused in one line."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x").mkdir()  # a folder, but no stack
    refused = {"../x": "no such folder", "./x": "no stack.yaml in this folder", "/tmp": "no stack.yaml",
               "dual-site/../single-site": "no such folder", "a" * 300: "expected a stack name",
               "dual\x1bsite": "expected a stack name", "x": "no stack.yaml in this folder"}
    for stack, why in refused.items():
        code, lines = validate(capsys, str(VALID), "--stack", stack)
        assert code == EXIT_INVALID_INPUT
        assert len(lines) == 1 and "--stack" in lines[0] and why in lines[0], (stack, lines)


def test_stack_folder_must_lie_under_the_stacks_root(capsys, tmp_path, monkeypatch):
    """A stack folder that is a symlink out of the stacks root is not a stack."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "stack.yaml").write_text((ROOT / "stacks" / "ground-truth" / "stack.yaml").read_text())
    root = tmp_path / "stacks"
    root.mkdir()
    (root / "escape").symlink_to(outside)
    monkeypatch.setenv("CHAOS_STACKS_DIR", str(root))
    experiment = tmp_path / "e.yaml"
    experiment.write_text("name: e\nstack: escape\nload: {users: 1, spawn_rate: 1, duration_s: 5}\n")
    code, lines = validate(capsys, str(experiment))
    assert code == EXIT_INVALID_INPUT
    assert len(lines) == 1 and "outside the stacks folder" in lines[0], lines


def test_fifo_is_refused_without_reading_it(capsys, tmp_path):
    fifo = tmp_path / "experiment.yaml"
    os.mkfifo(fifo)
    code, lines = validate(capsys, str(fifo))
    assert code == EXIT_INVALID_INPUT
    assert lines == [f"{fifo}: not a regular file; expected an experiment file"]


def test_device_is_refused_without_reading_it(capsys):
    code, lines = validate(capsys, "/dev/zero")
    assert code == EXIT_INVALID_INPUT
    assert lines == ["/dev/zero: not a regular file; expected an experiment file"]


def test_directory_is_refused_where_one_file_is_expected(capsys, tmp_path):
    """validate reads a folder's experiment files (test_cli); plan takes one file, never a folder."""
    assert cli.main(["plan", str(tmp_path)]) == EXIT_INVALID_INPUT
    assert capsys.readouterr().err == f"chaos-harness: {tmp_path}: not a regular file; expected an experiment file\n"
    code, lines = validate(capsys, str(tmp_path))
    assert code == EXIT_INVALID_INPUT
    assert lines == [f"{tmp_path}: no *.yaml or *.yml file in this folder"]


def test_file_over_one_mebibyte_is_refused_without_reading_it(capsys, tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text(VALID.read_text() + "#" * (1 << 20) + "\n")
    code, lines = validate(capsys, str(big))
    assert code == EXIT_INVALID_INPUT
    assert len(lines) == 1 and "larger than 1 MiB" in lines[0], lines


def test_each_problem_of_several_files_is_reported(capsys):
    files = [HOSTILE / "signal-typo.yaml", HOSTILE / "load-under-a-second.yaml"]
    code, lines = validate(capsys, *map(str, files))
    assert code == EXIT_INVALID_INPUT
    assert any("signal" in line for line in lines) and any("duration_s" in line for line in lines), lines


# stack.yaml: validated like an experiment, every problem at once with file:line.

GOOD_STACK = """\
name: s
project: chaos-s
compose_file: compose.yaml
sites: [pangyo, chuncheon]
entry_url: http://127.0.0.1:18090
toxiproxy_url: null
services: [web]
probes: {web: /web/health}
workload: workload.py
readback: readback.py
tasks: [ping]
"""
COMPOSE = """\
services:
  web-pangyo:
    image: x
    labels: {chaos.site: pangyo, chaos.role: app, chaos.service: web}
  web-chuncheon:
    image: x
    labels: {chaos.site: chuncheon, chaos.role: app, chaos.service: web}
"""

HOSTILE_STACKS = {
    "missing-keys": (GOOD_STACK.replace("project: chaos-s\n", "").replace("services: [web]\n", ""),
                     ["missing required key 'project'", "missing required key 'services'"]),
    "wrong-types": (GOOD_STACK.replace("sites: [pangyo, chuncheon]", "sites: pangyo")
                    .replace("entry_url: http://127.0.0.1:18090", "entry_url: 18090"),
                    ["sites: expected a list", "entry_url: expected a string"]),
    "readback-escapes-root": (GOOD_STACK.replace("readback: readback.py", "readback: ../../../etc/passwd.py"),
                              ["readback: '../../../etc/passwd.py' lies outside the stacks folder"]),
    "workload-absolute": (GOOD_STACK.replace("workload: workload.py", "workload: /tmp/workload.py"),
                          ["workload: '/tmp/workload.py' lies outside the stacks folder"]),
    "compose-missing": (GOOD_STACK.replace("compose_file: compose.yaml", "compose_file: nothere.yaml"),
                        ["compose_file: no such file"]),
    "unknown-key": (GOOD_STACK + "toxiproxy: http://x\n", ["unknown key 'toxiproxy'; did you mean 'toxiproxy_url'?"]),
    "bad-names": (GOOD_STACK.replace("sites: [pangyo, chuncheon]", "sites: [pangyo, \"../x\"]")
                  .replace("tasks: [ping]", "tasks: [ping, \"p\\e\"]"),
                  ["sites[1]: expected a site: lowercase letters", "tasks[1]: expected a task name: lowercase letters"]),
    "ready-timeout-huge": (GOOD_STACK + "ready_timeout_s: 1.0e+300\n", ["ready_timeout_s: must be <= 604800"]),
    "prepare-not-strings": (GOOD_STACK + "prepare: [1, [a]]\nsteady_state: {ok: 3}\n",
                            ["prepare[0]: expected a string", "prepare[1]: expected a string",
                             "steady_state.ok: expected a string"]),
    "name-not-folder": (GOOD_STACK.replace("name: s\n", "name: other\n"),
                        ["name: expected the stack's folder name 's'"]),
    "bad-operations": (GOOD_STACK + "operations:\n  web: {ping: read, put: update}\n  db: {get: read}\n  x: []\n",
                       ["s/stack.yaml:13:26: operations.web.put: 'update' is not one of read, write",
                        "s/stack.yaml:14:3: operations.db: unknown service 'db'; operations are declared for the "
                        "services of this file: web",
                        "s/stack.yaml:15:3: operations.x: unknown service 'x'",
                        "s/stack.yaml:15:6: operations.x: expected a mapping of operation to read or write"]),
    "not-a-mapping": ("- a\n- b\n", ["expected a mapping"]),
    "yaml-error": (GOOD_STACK + "probes: {\n", ["YAML syntax error"]),
    "deep-nesting": (GOOD_STACK + "description: " + "[" * 5000 + "]" * 5000 + "\n", ["nested deeper than"]),
}


def stack_folder(tmp_path, monkeypatch, stack_yaml: str):
    """A stacks root with one stack ``s`` whose stack.yaml is ``stack_yaml``; CHAOS_STACKS_DIR points at it."""
    root = tmp_path / "stacks"
    folder = root / "s"
    folder.mkdir(parents=True)
    (folder / "stack.yaml").write_text(stack_yaml)
    (folder / "compose.yaml").write_text(COMPOSE)
    (folder / "workload.py").write_text("")
    (folder / "readback.py").write_text("")
    monkeypatch.setenv("CHAOS_STACKS_DIR", str(root))
    return folder


@pytest.mark.parametrize("case", sorted(HOSTILE_STACKS))
def test_hostile_stack_yaml_is_refused_with_every_problem(capsys, tmp_path, monkeypatch, case):
    text, expected = HOSTILE_STACKS[case]
    folder = stack_folder(tmp_path, monkeypatch, text)
    experiment = tmp_path / "e.yaml"
    experiment.write_text("name: e\nstack: s\nload: {users: 1, spawn_rate: 1, duration_s: 5}\n")
    code, lines = validate(capsys, str(experiment))
    assert code == EXIT_INVALID_INPUT, lines
    assert len(lines) == len(expected), lines
    for fragment in expected:
        assert any(fragment in line for line in lines), (fragment, lines)
    for line in lines:
        assert re.match(rf"{re.escape(str(folder / 'stack.yaml'))}:\d+(:\d+)?: ", line), line


def test_the_hostile_stack_fixture_itself_is_valid(capsys, tmp_path, monkeypatch):
    """The cases above fail for the one thing each changes, not for the fixture."""
    folder = stack_folder(tmp_path, monkeypatch, GOOD_STACK)
    experiment = tmp_path / "e.yaml"
    experiment.write_text("name: e\nstack: s\nload: {users: 1, spawn_rate: 1, duration_s: 5, mix: {ping: 2}}\n"
                          "faults:\n  - {type: kill, target: {service: web, site: chuncheon}, at_s: 1}\n")
    assert cli.main(["validate", str(experiment)]) == 0, capsys.readouterr()


def test_every_reference_experiment_still_validates(capsys):
    experiments = sorted(str(p) for p in (ROOT / "experiments").glob("*.yaml"))
    assert cli.main(["validate", *experiments]) == 0, capsys.readouterr().err


def test_every_number_an_input_file_takes_has_an_upper_bound():
    """1e300 s is no timeout and 10**400 is no count: a number without a ceiling is a hole."""
    from chaos import loader, stack_file
    from chaos.faults.params import REGISTRY

    params = [*loader._TOP_PARAMS, *loader._LOAD_PARAMS, loader._MIX_WEIGHT, loader._AT_S,
              *loader.CHECK_METRICS.values(), *loader._ABORT_PARAMS.values(), *stack_file._STACK_PARAMS,
              *(p for decl in REGISTRY.values() for p in decl.params)]
    # error_ratio_over is a share: the loader itself refuses 1 and above (abort_condition).
    unbounded = [p.name for p in params
                 if p.kind in ("number", "int", "duration") and p.ceiling is None and p.name != "error_ratio_over"]
    assert unbounded == []
    assert all(p.ceiling is not None and p.ceiling < 1e16 for p in params if p.kind == "duration")


def test_error_ratio_of_1e300_is_refused(capsys, tmp_path):
    experiment = tmp_path / "e.yaml"
    experiment.write_text(VALID.read_text() + "abort_if:\n  - {error_ratio_over: 1.0e+300}\n")
    code, lines = validate(capsys, str(experiment))
    assert code == EXIT_INVALID_INPUT
    assert len(lines) == 1 and "must be < 1" in lines[0], lines


@pytest.mark.parametrize("verb", [["plan", str(VALID)], ["run", str(VALID)], ["gameday", str(VALID)], ["up"],
                                  ["down"], ["recover"]], ids=lambda v: v[0])
def test_every_verb_refuses_a_stack_path_that_is_no_stack_before_anything_starts(capsys, verb, tmp_path,
                                                                                  monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x").mkdir()
    for stack, why in (("../../nowhere/x", "no such folder"), ("./x", "no stack.yaml in this folder")):
        start = time.monotonic()
        code = cli.main([*verb, "--stack", stack])
        out, err = capsys.readouterr()
        assert time.monotonic() - start < HANG_S
        assert code == EXIT_INVALID_INPUT, err
        assert f"--stack {stack}: {why}" in err and "Traceback" not in out + err


def test_the_stack_yaml_init_stack_drafts_is_read_by_the_stricter_reader(tmp_path):
    from chaos.contract import skeleton
    from chaos.stack import find_stack

    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "compose.yaml").write_text(COMPOSE)
    (folder / "workload.py").write_text("")
    (folder / "readback.py").write_text("")
    (folder / "stack.yaml").write_text(skeleton(folder / "compose.yaml"))
    stack = find_stack("s", tmp_path)
    assert (stack.sites, stack.services, stack.tasks) == (("pangyo", "chuncheon"), ("web",), ())


def test_a_compose_file_symlinked_inside_the_root_is_kept_as_written():
    """Compose reads the .env beside the path it is given: kv-sentinel-async's compose.yaml is a
    symlink to kv-sentinel's, and its own .env (KV_ACK=async) must still be the one read."""
    from chaos.stack import find_stack

    stack = find_stack("kv-sentinel-async", ROOT / "stacks")
    assert stack.compose_file == ROOT / "stacks" / "kv-sentinel-async" / "compose.yaml"
    assert (stack.compose_file.parent / ".env").read_text().count("KV_ACK=async") == 1


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_plan_refuses_each_hostile_experiment_as_validate_does(capsys, path):
    """Every verb goes through runner.prepare: plan prints the same problems as validate."""
    assert cli.main(["validate", str(path)]) == EXIT_INVALID_INPUT
    validated = capsys.readouterr().err
    assert cli.main(["plan", str(path)]) == EXIT_INVALID_INPUT
    assert capsys.readouterr().err == validated
