"""One permission mode for every file of a run folder: 0644 minus the umask, whichever code wrote it
(the history writers, the atomic writes of journal.json, meta.json, report.html and junit.xml, the
Locust log). journal.json and junit.xml once came out 0600 (a temporary file's mode kept by the
rename); under umask 002 the atomic writes gave 0664 beside history files of 0644."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from chaos.cli import main
from chaos.experiment import Load
from chaos.files import FILE_MODE
from chaos.load.locust_process import LocustProcess

sys.path.insert(0, str(Path(__file__).parent))
import fake_run  # noqa: E402


@pytest.fixture(autouse=True)
def own_lock_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAOS_LOCK_DIR", str(tmp_path / "locks"))


@pytest.fixture
def umask(request):
    previous = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(previous)


def _locust_log(run_dir: Path) -> Path:
    """The real LocustProcess's log, from a stand-in command that prints a line."""
    locust = LocustProcess(Path("workload.py"), "http://127.0.0.1:1", Load(1, 1, 1), run_dir / "history",
                           run_dir / "locust.log")
    locust.cmd = [sys.executable, "-c", "print('locust')"]
    locust.start()
    locust.proc.wait(timeout=30)
    locust.stop()
    return locust.log_path


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077], indirect=True, ids=oct)
def test_every_file_of_a_run_folder_has_one_mode(monkeypatch, tmp_path, capsys, umask):
    fake_run.install(monkeypatch.setattr, fake_run.Events())
    journal, code = fake_run.make_run(tmp_path / "runs").execute()
    assert code == 0, journal.get("reasons")
    run_dir = tmp_path / "runs" / journal["run_id"]
    assert main(["report", str(run_dir)]) == 0
    assert main(["analyze", "--write", str(run_dir)]) == 0
    assert _locust_log(run_dir).read_text() == "locust\n"
    modes = {p.relative_to(run_dir).as_posix(): oct(stat.S_IMODE(p.stat().st_mode))
             for p in run_dir.rglob("*") if p.is_file()}
    assert {"journal.json", "junit.xml", "report.html", "meta.json", "experiment.yaml", "locust.log"} <= set(modes)
    assert any(name.startswith("history/") for name in modes)
    assert set(modes.values()) == {oct(FILE_MODE & ~umask)}, modes
