"""--quiet and --json (for machines), and the stack bring-up's progress line."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from chaos import cli
from chaos.engine import health_line

JOURNAL = {"run_id": "20261125T000000Z-x-dual-site", "verdict": "fail", "expected": "fail",
           "stack": "single-site", "experiment": {"name": "pangyo-power-cut"}}


@pytest.fixture
def fake_run(monkeypatch):
    """run_experiment that prints progress to the stream it is given and returns JOURNAL."""
    seen = {}

    def run_experiment(path, opts):
        seen["opts"] = opts
        print("[load] progress line", file=opts.out, flush=True)
        return JOURNAL, 0

    import chaos.runner

    monkeypatch.setattr(chaos.runner, "run_experiment", run_experiment)
    return seen


def test_json_puts_the_journal_alone_on_stdout_and_progress_on_stderr(fake_run, capsys):
    assert cli.main(["run", "x.yaml", "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == JOURNAL
    assert "[load] progress line" in err and not fake_run["opts"].color


def test_quiet_prints_one_verdict_line_and_no_progress(fake_run, capsys):
    assert cli.main(["run", "x.yaml", "--quiet", "--runs-dir", "r"]) == 0
    out, err = capsys.readouterr()
    assert out == "pangyo-power-cut on single-site: FAIL (expected fail) r/20261125T000000Z-x-dual-site/journal.json\n"
    assert err == ""


def test_quiet_and_json_together_are_refused(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["run", "x.yaml", "--quiet", "--json"])
    assert e.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def box(status, health=None, service="svc", sparse=False):
    if sparse:
        text = f"Up 3 seconds ({health})" if health else "Up 3 seconds"
        attrs = {"State": status, "Status": text}
    else:
        attrs = {"State": {"Status": status, **({"Health": {"Status": health}} if health else {})}}
    return SimpleNamespace(attrs=attrs, status=status, name=f"p-{service}-1",
                           labels={"com.docker.compose.service": service})


@pytest.mark.parametrize("sparse", [False, True])
def test_health_line_counts_healthy_and_names_the_rest(sparse):
    found = [box("running", "healthy", "pg", sparse), box("running", None, "toxiproxy", sparse),
             box("running", "starting", "login", sparse), box("running", "starting", "etcd", sparse),
             box("exited", None, "init", sparse), box("running", "unhealthy", "gslb", sparse)]
    assert health_line(found) == "2/6 healthy; exited: init; starting: etcd, login; unhealthy: gslb"


def test_health_line_of_nothing():
    assert health_line([]) == "0/0 healthy"
