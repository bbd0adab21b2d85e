"""The CLI refuses bad input with exit 2 and one clear line, before any container is touched.

DOCKER_HOST points at a socket that does not exist: had the CLI tried to reach Docker, it would
have exited 3 (environment), not 2 (invalid input).

``cli`` runs the CLI in this process (``chaos.cli.main``, what the console script and ``python -m
chaos`` call), with the environment a fresh process would get here; a new Python process for each
command re-imported the harness each time and made this file the slowest of the unit tests.
``cli_process`` runs a real ``python -m chaos`` for the tests about the process itself: its exit
status for invalid input (2), for a missing engine (3) and for a usage error argparse raises."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from unittest import mock

import pytest

from chaos.cli import main

ROOT = Path(__file__).resolve().parents[2]
# What a command sees: no Docker engine, a HOME without a Docker config, help at 80 columns.
CLI_ENV = {"PATH": "/usr/bin:/bin", "DOCKER_HOST": "unix:///nonexistent/docker.sock", "HOME": "/tmp"}


def cli_process(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """``python -m chaos ARGS`` in a new process with only ``CLI_ENV``."""
    return subprocess.run([sys.executable, "-m", "chaos", *args], capture_output=True, text=True,
                          cwd=cwd, env=CLI_ENV, timeout=60)


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """``chaos-harness ARGS`` in this process, as ``cli_process`` would run it: in ``cwd``, with only
    ``CLI_ENV`` (and the test's own lock folder) in the environment, restored afterwards, as is the
    folder; the exit code is main's return or the SystemExit argparse raises (--help, usage errors)."""
    out, err, here = io.StringIO(), io.StringIO(), os.getcwd()
    env = {**CLI_ENV, "COLUMNS": "80", "LINES": "24"}  # as in a process whose output is a pipe
    if "CHAOS_LOCK_DIR" in os.environ:  # tests/unit/conftest.py: never the machine's stack locks
        env["CHAOS_LOCK_DIR"] = os.environ["CHAOS_LOCK_DIR"]
    with mock.patch.dict(os.environ, env, clear=True), redirect_stdout(out), redirect_stderr(err):
        os.chdir(cwd)
        try:
            code = main(list(args))
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        finally:
            os.chdir(here)
    return subprocess.CompletedProcess(["chaos-harness", *args], code, out.getvalue(), err.getvalue())


def edited_power_cut(tmp_path: Path, name: str, old: str, new: str) -> Path:
    """A copy of the shipped power-cut experiment with ``old`` replaced by ``new``."""
    text = (ROOT / "experiments" / "pangyo-power-cut.yaml").read_text()
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new))
    return path


def test_missing_file_exits_2_naming_it():
    p = cli_process("run", "no-such.yaml")
    assert p.returncode == 2
    assert p.stderr.strip() == "chaos-harness: no-such.yaml: no such experiment file"


def test_misspelled_key_exits_2_naming_file_line_and_key(tmp_path):
    bad = edited_power_cut(tmp_path, "typo.yaml", "duration_s:", "duraton_s:")
    line = next(i for i, l in enumerate(bad.read_text().splitlines(), 1) if "duraton_s" in l)
    p = cli("run", str(bad))
    assert p.returncode == 2
    assert f"{bad}:{line}:" in p.stderr
    assert "duraton_s" in p.stderr and "did you mean 'duration_s'" in p.stderr


def test_unknown_stack_exits_2_with_suggestion():
    p = cli("run", "experiments/pangyo-power-cut.yaml", "--stack", "dual-sit")
    assert p.returncode == 2
    assert "unknown stack 'dual-sit'; did you mean 'dual-site'?" in p.stderr


def test_unknown_site_in_target_exits_2(tmp_path):
    bad = edited_power_cut(tmp_path, "site.yaml", "site: pangyo", "site: pangyoo")
    p = cli("validate", str(bad))
    assert p.returncode == 2
    assert "pangyoo" in p.stderr and "did you mean 'pangyo'" in p.stderr


def test_validate_and_plan_the_shipped_experiment():
    p = cli("validate", "experiments/pangyo-power-cut.yaml")
    assert p.returncode == 0, p.stderr
    p = cli("plan", "experiments/pangyo-power-cut.yaml")
    assert p.returncode == 0, p.stderr
    assert "t=  15.0s  f0 power_cut on site=pangyo" in p.stdout
    assert "t=  45.0s  f0 healed" in p.stdout


def test_validate_and_plan_the_wan_experiments():
    p = cli("validate", "experiments/wan-latency.yaml", "experiments/pangyo-isolated.yaml")
    assert p.returncode == 0, p.stderr
    p = cli("plan", "experiments/wan-latency.yaml")
    assert p.returncode == 0, p.stderr
    assert "t=  15.0s  f0 latency on link=pangyo-chuncheon" in p.stdout
    assert "t=  35.0s  f0 healed" in p.stdout
    p = cli("plan", "experiments/pangyo-isolated.yaml")
    assert p.returncode == 0, p.stderr
    assert "t=  15.0s  f0 isolate on site=pangyo" in p.stdout
    assert "t=  40.0s  f0 healed" in p.stdout


def test_plan_says_a_fault_outlasting_the_load_is_healed_when_it_ends(tmp_path):
    f = edited_power_cut(tmp_path, "long.yaml", "power_returns_after_s: 30", "power_returns_after_s: 90")
    p = cli("plan", str(f))
    assert p.returncode == 0, p.stderr
    assert "t=  60.0s  f0 healed when the load ends (its 90 s would end at t=105s)" in p.stdout


def test_doctor_without_engine_says_how_to_fix():
    p = cli_process("doctor")
    assert p.returncode == 3
    assert "[FAIL] docker engine" in p.stdout and "make setup" in p.stdout


def test_every_shipped_experiment_validates():
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "experiments").glob("*.yaml"))
    assert "experiments/pangyo-site-loss.yaml" in files and "experiments/pangyo-fire-chain.yaml" in files
    p = cli("validate", *files)
    assert p.returncode == 0, p.stderr


def test_plan_describes_the_fire_its_rebuild_and_the_abort_conditions():
    p = cli("plan", "experiments/pangyo-site-loss.yaml")
    assert p.returncode == 0, p.stderr
    assert "t=  20.0s  f0 site_loss on site=pangyo\n              rebuild_after_s: 30   # s\n" in p.stdout
    assert "named volumes are destroyed; the site is rebuilt empty from the survivors" in " ".join(p.stdout.split())
    assert "t=  50.0s  f0 rebuilt (its services recreated empty, rejoining from the survivors)" in p.stdout
    assert "    all_services_failing_for_s: 60" in p.stdout


def test_plan_of_the_chained_fire_puts_the_slowness_before_the_power_cut():
    p = cli("plan", "experiments/pangyo-fire-chain.yaml")
    assert p.returncode == 0, p.stderr
    lines = [line.strip() for line in p.stdout.splitlines() if line.strip().startswith("t=")]
    assert lines[0] == "t=  10.0s  f0 latency on link=pangyo-chuncheon"
    assert lines[1] == "t=  30.0s  f0 healed"
    assert lines[2] == "t=  30.0s  f1 power_cut on site=pangyo"
    assert lines[3] == "t=  75.0s  f1 healed when the load ends"
    latency = p.stdout.splitlines().index("  t=  10.0s  f0 latency on link=pangyo-chuncheon")
    assert [line.strip() for line in p.stdout.splitlines()[latency + 1:latency + 5]] == [
        "latency_ms: 50    # ms", "jitter_ms: 20     # ms", "duration_s: 20    # s", "direction: both"]
    assert "power_returns_after_s: null   # s; null: healed when the load ends" in p.stdout


def test_schema_includes_abort_if_and_site_loss():
    p = cli("schema")
    assert p.returncode == 0, p.stderr
    schema = json.loads(p.stdout)
    assert "abort_if" in schema["properties"]
    assert "site_loss" in [b["title"] for b in schema["properties"]["faults"]["items"]["oneOf"]]
    assert [b["title"] for b in schema["properties"]["expect"]["oneOf"]] == ["one verdict", "verdict per stack"]


def test_run_on_a_stack_the_expect_mapping_does_not_name_exits_2_naming_the_declared_ones():
    p = cli("run", "experiments/pangyo-power-cut.yaml", "--stack", "kv-sentinel")
    assert p.returncode == 2, p.stderr
    assert p.stderr.strip() == (
        "chaos-harness: experiments/pangyo-power-cut.yaml: expect: no expectation for stack 'kv-sentinel': "
        "the file declares one only for dual-site, single-site, dual-site-no-local-reads, dual-site-engines (its expect mapping); run it on one of those, "
        "or add 'kv-sentinel' to the mapping")
    for command in ("plan", "validate", "gameday"):
        p = cli(command, "experiments/pangyo-power-cut.yaml", "--stack", "kv-sentinel")
        assert p.returncode == 2 and "no expectation for stack 'kv-sentinel'" in p.stderr, (command, p.stderr)


def test_plan_prints_the_expectation_per_stack():
    p = cli("plan", "experiments/pangyo-power-cut.yaml")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].startswith("pangyo-power-cut on dual-site: ") and lines[0].endswith("; expect pass")
    assert lines[1] == ("  expect per stack: pass on dual-site (this plan), fail on single-site, "
                        "fail on dual-site-no-local-reads, pass on dual-site-engines")
    p = cli("plan", "experiments/pangyo-power-cut.yaml", "--stack", "single-site")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].startswith("pangyo-power-cut on single-site: ") and lines[0].endswith("; expect fail")
    assert lines[1] == ("  expect per stack: pass on dual-site, fail on single-site (this plan), "
                        "fail on dual-site-no-local-reads, pass on dual-site-engines")
    p = cli("plan", "experiments/wan-latency.yaml")
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[0].endswith("; expect pass") and "expect per stack" not in p.stdout


def test_validate_checks_every_stack_of_an_expect_mapping(tmp_path):
    p = cli("validate", "experiments/pangyo-power-cut.yaml")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == ("experiments/pangyo-power-cut.yaml: ok (pangyo-power-cut on dual-site, single-site, "
                                "dual-site-no-local-reads, dual-site-engines, 1 faults, 6 thresholds; expect pass on "
                                "dual-site, fail on single-site, fail on dual-site-no-local-reads, pass on "
                                "dual-site-engines)")
    bad = edited_power_cut(tmp_path, "no-such-stack.yaml", "single-site: fail,", "single-sit: fail,")
    p = cli("validate", str(bad))
    assert p.returncode == 2
    assert "unknown stack 'single-sit'; did you mean 'single-site'?" in p.stderr


# ---------------------------------------------------------------------------------------------
# validate: many files and folders, every file reported, a summary line.

def test_validate_reports_every_file_and_ends_with_a_summary(tmp_path):
    bad = edited_power_cut(tmp_path, "bad.yaml", "duration_s:", "duraton_s:")
    p = cli("validate", "experiments/wan-latency.yaml", str(bad), "experiments/pangyo-isolated.yaml")
    assert p.returncode == 2
    out = p.stdout.splitlines()
    assert out[0].startswith("experiments/wan-latency.yaml: ok (")
    assert out[1].startswith("experiments/pangyo-isolated.yaml: ok (")  # after the invalid one: not skipped
    assert out[2] == "3 files: 2 ok, 1 invalid"
    assert f"{bad}:" in p.stderr and "did you mean 'duration_s'" in p.stderr


def test_validate_a_folder_takes_its_yaml_files_sorted(tmp_path):
    folder = tmp_path / "exp"
    (folder / "sub").mkdir(parents=True)
    good = (ROOT / "experiments" / "wan-latency.yaml").read_text()
    for name in ("b.yml", "a.yaml", ".hidden.yaml", "sub/c.yaml", "C.YAML"):
        (folder / name).write_text(good)
    (folder / "notes.txt").write_text("not an experiment\n")
    (folder / "m.yaml").write_text("name: x\n")
    p = cli("validate", str(folder))
    assert p.returncode == 2
    names = [line.split(":", 1)[0] for line in p.stdout.splitlines()[:-1]]
    assert names == [str(folder / n) for n in ("C.YAML", "a.yaml", "b.yml")]
    assert f"{folder / 'm.yaml'}:1:1: missing required key" in p.stderr
    assert p.stdout.splitlines()[-1] == "4 files: 3 ok, 1 invalid"


def test_validate_the_shipped_folder():
    p = cli("validate", "experiments/")
    assert p.returncode == 0, p.stderr
    n = len(list((ROOT / "experiments").glob("*.yaml")))
    assert n >= 5 and p.stdout.splitlines()[-1] == f"{n} files: {n} ok, 0 invalid"
    assert p.stdout.splitlines()[0].startswith("experiments/")  # as typed, one slash


def test_validate_an_empty_folder_and_a_missing_file(tmp_path):
    p = cli("validate", str(tmp_path), "no-such.yaml")
    assert p.returncode == 2
    assert f"{tmp_path}: no *.yaml or *.yml file in this folder" in p.stderr
    assert "no-such.yaml: no such experiment file" in p.stderr
    assert p.stdout.splitlines()[-1] == "1 file: 0 ok, 1 invalid, 1 folder without any"


# ---------------------------------------------------------------------------------------------
# Safe defaults: down names its stack; analyze reads unless --write.

def test_down_requires_a_stack_before_anything_is_touched():
    p = cli_process("down")
    assert p.returncode == 2
    assert "the following arguments are required: --stack" in p.stderr
    p = cli("down", "--keep-volumes")
    assert p.returncode == 2 and "--stack" in p.stderr


def test_up_recover_doctor_name_the_stack_they_act_on():
    p = cli("doctor")
    assert p.stdout.splitlines()[0] == "doctor: this machine, for the stack dual-site"
    p = cli("recover", "--stack", "single-site")  # no engine: exit 3, after saying which stack
    assert p.returncode == 3
    assert p.stdout.startswith("recovering single-site (compose project ")


def _files(folder: Path) -> dict:
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_analyze_reads_only_unless_write(tmp_path):
    sys.path.insert(0, str(ROOT / "tests" / "unit"))
    from run_folder import make_run

    run_dir = make_run(tmp_path, step_s=0.5, judge=False)
    before = _files(run_dir)
    for flags in ([], ["--dry"]):
        p = cli("analyze", *flags, str(run_dir))
        assert p.returncode == 0, p.stderr
        assert "VERDICT: PASS" in p.stdout
        assert f"note: {run_dir} has no journal.json; --write saves this one" in p.stderr
        assert _files(run_dir) == before  # nothing written, nothing changed
    p = cli("analyze", "--write", "--dry", str(run_dir))
    assert p.returncode == 2 and "not allowed with argument" in p.stderr
    p = cli("analyze", "--write", str(run_dir))
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[-1] == f"journal: {run_dir}/journal.json (written)"
    journal = json.loads((run_dir / "journal.json").read_text())
    assert journal["verdict"] == "pass"
    # A saved journal that disagrees is named, and left as it was without --write.
    journal["verdict"] = "fail"
    (run_dir / "journal.json").write_text(json.dumps(journal))
    saved = (run_dir / "journal.json").read_bytes()
    p = cli("analyze", str(run_dir))
    assert p.returncode == 0
    assert ("note: the saved journal said fail; re-judged: pass; journal.json left as it was "
            "(--write saves the new one)") in p.stderr
    assert (run_dir / "journal.json").read_bytes() == saved


@pytest.mark.skipif(shutil.which("make") is None, reason="no make")
def test_make_run_and_gameday_need_an_experiment_and_clean_names_its_stack():
    def make(*args: str) -> subprocess.CompletedProcess:
        # Run as `make test` runs it in CI: a nested make prints "Entering directory" lines unless
        # told not to, and inherits the parent's MAKEFLAGS, MAKELEVEL and variables.
        env = {k: v for k, v in os.environ.items()
               if k not in ("STACK", "EXP", "MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES")}
        return subprocess.run(["make", "-n", "--no-print-directory", *args], capture_output=True, text=True,
                              cwd=ROOT, env=env, timeout=60)

    for target in ("run", "gameday"):
        p = make(target)
        assert p.returncode == 2 and f"make {target} needs an experiment: make {target} EXP=" in p.stderr, p.stderr
        assert "chaos-harness" not in p.stdout
    p = make("run", "EXP=experiments/wan-latency.yaml")
    assert p.returncode == 0 and p.stdout.splitlines()[-1].rstrip().endswith("chaos-harness run experiments/wan-latency.yaml")
    p = make("clean", "STACK=single-site")
    assert "taking down the stack single-site" in p.stdout and "down --stack single-site" in p.stdout
    for target in ("down", "up", "recover", "doctor"):  # the Makefile always names the stack
        assert f"{target} --stack dual-site" in make(target).stdout
