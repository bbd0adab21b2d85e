"""bench/cpu_split.py's arithmetic: CPU counters at two moments -> % of one core (no Docker)."""

import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "bench_cpu_split", Path(__file__).resolve().parents[2] / "bench" / "cpu_split.py")
cpu_split = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cpu_split)


def test_counters_become_percent_of_one_core_busiest_first():
    before = {"pg-pangyo": 10_000_000_000, "gslb": 5_000_000_000, "app": 0}
    after = {"pg-pangyo": 22_500_000_000, "gslb": 7_500_000_000, "app": 25_000_000_000}
    # over 50 s: 12.5 s of CPU is 25 % of a core, 2.5 s is 5 %, 25 s is 50 %
    assert cpu_split.split(before, after, 50.0) == [
        ("app", 50.0), ("pg-pangyo", 25.0), ("gslb", 5.0)]


def test_a_restarted_or_missing_container_is_left_out_not_counted_as_zero():
    before = {"restarted": 9_000_000_000, "gone": 1, "steady": 0}
    after = {"restarted": 1_000_000_000, "new": 5, "steady": 1_000_000_000}
    assert cpu_split.split(before, after, 10.0) == [("steady", pytest.approx(10.0))]


def test_machine_ticks_count_iowait_as_idle():
    # cpu user nice system idle iowait irq softirq steal guest guest_nice
    assert cpu_split.machine_ticks("cpu  100 5 50 1000 20 3 7 0 0 0") == (165, 1020)
