"""The harness names no part of the reference system: everything it knows about a stack comes
from the labels and stack.yaml (docs/stack-contract.md). A mention of the mini-system's services or
components anywhere in chaos/ (code, docstrings, examples) is the first step towards a special
case, so none is allowed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HARNESS = sorted((ROOT / "chaos").rglob("*.py"))
FORBIDDEN = ("login", "messaging", "payment", "patroni", "postgres", "etcd", "haproxy", "miniapp", "wallet")
PATTERN = re.compile(r"\b(" + "|".join(FORBIDDEN) + r")\b", re.IGNORECASE)


def test_the_harness_has_python_files():
    assert len(HARNESS) > 20


@pytest.mark.parametrize("path", HARNESS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_reference_system_name_in_the_harness(path):
    hits = [f"{path.relative_to(ROOT)}:{n}: {m.group(0)!r} in {line.strip()[:100]}"
            for n, line in enumerate(path.read_text().splitlines(), 1) for m in PATTERN.finditer(line)]
    assert not hits, "the harness names the reference system:\n" + "\n".join(hits)


def test_the_pattern_matches_words_case_insensitively():
    assert PATTERN.search("a Patroni cluster") and PATTERN.search("GET /login/health")
    assert not PATTERN.search("relogin_after_s") and not PATTERN.search("etcdctl")
