"""``--stack`` takes the path of a stack's folder as well as a stack's name (issue 18, item 8): a
value with a ``/``, or an existing folder that is no stack of the stacks folder. Its stack.yaml is
read as any stack's, its name is its ``name:`` (its folder's name), and every verb with ``--stack``
takes it; an experiment's ``stack:`` stays a name."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from test_cli import cli

from chaos.cli import build_parser
from chaos.errors import InvalidInput
from chaos.stack import find_stack, is_stack_path

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENT = "name: e\nstack: mine\nload: {users: 1, spawn_rate: 1, duration_s: 30}\n" \
             "faults:\n  - {type: kill, target: {service: truth-3s}, at_s: 10}\n"


@pytest.fixture
def own(tmp_path) -> Path:
    """tmp_path/elsewhere/mine: a copy of the ground-truth stack named mine, outside any stacks folder."""
    folder = tmp_path / "elsewhere" / "mine"
    shutil.copytree(ROOT / "stacks" / "ground-truth", folder, symlinks=True)
    text = (folder / "stack.yaml").read_text()
    (folder / "stack.yaml").write_text(text.replace("name: ground-truth", "name: mine")
                                       .replace("project: chaos-ground-truth", "project: chaos-mine-test"))
    (tmp_path / "e.yaml").write_text(EXPERIMENT)
    return folder


def harness(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The CLI in ``cwd`` (in this process: test_cli.cli), without a $CHAOS_STACKS_DIR of the caller's."""
    return cli(*args, cwd=cwd)


def test_validate_and_plan_take_a_folder_path(own, tmp_path):
    for stack in ("./elsewhere/mine", str(own), "elsewhere/mine/"):
        p = harness("validate", "e.yaml", "--stack", stack, cwd=tmp_path)
        assert p.returncode == 0, (stack, p.stderr)
        assert p.stdout.strip() == "e.yaml: ok (e on mine, 1 faults, 0 thresholds)"
    p = harness("plan", "../../e.yaml", "--stack", ".", cwd=own)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("e on mine: 1 users for 30 s through http://127.0.0.1:18090")


def test_a_bare_word_is_a_folder_only_when_no_stack_has_that_name(own, tmp_path, monkeypatch):
    monkeypatch.chdir(own.parent)
    monkeypatch.setenv("CHAOS_STACKS_DIR", str(ROOT / "stacks"))
    assert is_stack_path("mine") and not is_stack_path("dual-site") and not is_stack_path("nothing-here")
    (own.parent / "dual-site").mkdir()  # a folder named like a stack: the stack wins
    assert not is_stack_path("dual-site")
    assert find_stack("mine", what="--stack", paths=True).name == "mine"


def test_an_experiments_stack_stays_a_name(own, monkeypatch):
    monkeypatch.chdir(own.parent)
    with pytest.raises(InvalidInput, match="unknown stack 'mine'"):
        find_stack("mine", ROOT / "stacks")


def test_the_stack_yaml_name_must_be_its_folders(own, tmp_path):
    renamed = own.parent / "renamed"
    own.rename(renamed)
    p = harness("validate", "e.yaml", "--stack", "elsewhere/renamed", cwd=tmp_path)
    assert p.returncode == 2
    assert "elsewhere/renamed/stack.yaml:3:7: name: expected the stack's folder name 'renamed', got 'mine'" in p.stderr


def test_a_path_stacks_files_stay_under_its_parent_folder(own, tmp_path):
    text = (own / "stack.yaml").read_text().replace("workload: workload.py", "workload: ../../outside.py")
    (own / "stack.yaml").write_text(text)
    (tmp_path / "outside.py").write_text("")
    p = harness("validate", "e.yaml", "--stack", "./elsewhere/mine", cwd=tmp_path)
    assert p.returncode == 2 and "lies outside the stacks folder" in p.stderr, p.stderr


def test_doctor_reads_the_folder_given(own, tmp_path):
    p = harness("doctor", "--stack", "./elsewhere/mine", cwd=tmp_path)
    assert p.stdout.startswith("doctor: this machine, for the stack mine"), p.stdout + p.stderr
    assert "[FAIL] stack" not in p.stdout


def test_every_stack_option_and_the_overview_say_a_path_is_taken():
    parser = build_parser()
    assert "CHAOS_STACKS_DIR" in parser.description and "--stack ./my-stack" in parser.description
    verbs = parser._subparsers._group_actions[0].choices
    with_stack = [name for name, sub in verbs.items()
                  if any("--stack" in a.option_strings for a in sub._actions)]
    assert sorted(with_stack) == ["doctor", "down", "gameday", "plan", "recover", "run", "up", "validate", "worker"]
    for name in with_stack:
        option = next(a for a in verbs[name]._actions if "--stack" in a.option_strings)
        assert "the path of a folder with a stack.yaml" in option.help, name
