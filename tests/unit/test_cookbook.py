"""docs/cookbook.md: every YAML block is a complete experiment that validates against its stack
(each stack its expect mapping names, too), so the cookbook cannot rot; and the fault examples of
the generated reference (docs/experiments.md) validate inside an experiment."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from chaos.faults import REGISTRY
from chaos.runner import prepare

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"^```yaml\n(.*?)^```", re.M | re.S)


def yaml_blocks(path: Path) -> list[str]:
    return BLOCK.findall(path.read_text())


COOKBOOK = yaml_blocks(ROOT / "docs" / "cookbook.md")


def test_the_cookbook_has_ten_experiments_with_distinct_names():
    names = [yaml.safe_load(block)["name"] for block in COOKBOOK]
    assert len(names) == 10 and len(set(names)) == 10, names


def test_the_cookbook_covers_what_users_ask_for():
    types = {fault["type"] for block in COOKBOOK for fault in yaml.safe_load(block).get("faults") or ()}
    assert {"latency", "cut", "pause", "power_cut", "bandwidth", "kill", "isolate", "site_stop",
            "site_loss"} <= types
    assert any(len(yaml.safe_load(b)["faults"]) > 1 for b in COOKBOOK)  # a chain


@pytest.mark.parametrize("index", range(len(COOKBOOK)))
def test_every_cookbook_block_validates(index, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    path = tmp_path / f"recipe-{index}.yaml"
    path.write_text(COOKBOOK[index])
    experiment, stack = prepare(path, None)
    assert stack.name == experiment.stack
    for name in experiment.expect_by_stack:  # every stack the recipe declares a verdict for
        assert prepare(path, name)[1].name == name


def test_a_cookbook_block_that_rotted_would_fail(tmp_path, monkeypatch):
    from chaos.errors import ExperimentInvalid

    monkeypatch.chdir(ROOT)
    path = tmp_path / "rotten.yaml"
    path.write_text(COOKBOOK[0].replace("latency_ms:", "delay_ms:"))
    with pytest.raises(ExperimentInvalid, match="delay_ms"):
        prepare(path, None)


REFERENCE_FAULTS = [b for b in yaml_blocks(ROOT / "docs" / "experiments.md") if b.startswith("- type:")]


def test_the_reference_shows_one_example_per_fault():
    assert sorted(yaml.safe_load(b)[0]["type"] for b in REFERENCE_FAULTS) == sorted(REGISTRY)


@pytest.mark.parametrize("block", REFERENCE_FAULTS, ids=lambda b: yaml.safe_load(b)[0]["type"])
def test_every_fault_example_of_the_reference_validates(block, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    path = tmp_path / "example.yaml"
    indented = "".join(f"  {line}\n" for line in block.splitlines())
    # A fault that acts on a site's own engine (engine_loss) needs a stack whose sites have one.
    stack = "dual-site-engines" if yaml.safe_load(block)[0]["type"] == "engine_loss" else "dual-site"
    path.write_text(f"name: example\nstack: {stack}\nload: {{users: 1, spawn_rate: 1, duration_s: 60}}\n"
                    f"faults:\n{indented}")
    prepare(path, None)
