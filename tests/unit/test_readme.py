"""README's commands stay true: every make target it names exists, every chaos-harness verb it names
is a verb, every file and folder it names or links exists, and its first experiment validates."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from test_cli import cli as harness

from chaos import cli

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, re.S)


def test_every_make_target_named_exists():
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z-]+):", makefile, re.M))
    named = set(re.findall(r"(?:`|^)make ([a-z-]+)", README, re.M))
    assert named and named <= targets, named - targets


def test_every_chaos_harness_verb_named_exists():
    parser = cli.build_parser()
    verbs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    named = set(re.findall(r"chaos-harness ([a-z][a-z-]+)", README)) - {"cuts"}
    assert named and named <= set(verbs), named - set(verbs)


def test_every_path_named_exists():
    linked = re.findall(r"\]\(([^)#]+)\)", README)
    named = re.findall(r"`((?:docs|samples|experiments|stacks)/[^`\s]*)`", README)
    named += re.findall(r"\s((?:samples|experiments)/[\w./-]+)", "\n".join(_blocks("bash")))
    paths = {p.rstrip("/") for p in linked + named if "<" not in p and "my-first" not in p}
    assert paths
    for path in paths:
        assert (ROOT / path).exists(), path


def test_the_first_experiment_validates(tmp_path):
    yaml_block = _blocks("yaml")[0]
    path = tmp_path / "my-first.yaml"
    path.write_text(yaml_block)
    done = harness("validate", str(path))
    assert done.returncode == 0, done.stdout + done.stderr
