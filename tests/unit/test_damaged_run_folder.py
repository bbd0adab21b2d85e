"""A damaged run folder is invalid input, never a crash (issue 14, item 5).

Every case of the corpus starts from a valid, judged run folder (``run_folder.make_run``), damages
one file, and runs ``chaos-harness analyze`` and ``chaos-harness report`` on it: both must exit 2
with a message naming the file (and the line, for the history and JSON syntax) and no traceback.
Then: a torn last line (a writer killed mid-line) makes the run unknown, reports are written
atomically and never through a symlink, and ``$`` in a label is drawn as a dollar, not as math.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from run_folder import make_run

from chaos.cli import main


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    return make_run(tmp_path_factory.mktemp("pristine"))


def _copy(pristine: Path, tmp_path: Path) -> Path:
    run_dir = tmp_path / "run"
    shutil.copytree(pristine, run_dir)
    return run_dir


# ---------------------------------------------------------------------------------------------
# Reports written atomically, never through a symlink.

@pytest.mark.parametrize("name", ["report.html", "junit.xml", "journal.json"])
def test_no_report_is_written_through_a_symlink(pristine, tmp_path, capsys, name):
    run_dir = _copy(pristine, tmp_path)
    outside = tmp_path / "precious.txt"
    outside.write_text("do not touch\n")
    (run_dir / name).unlink(missing_ok=True)
    if name == "journal.json":
        shutil.copy(pristine / name, tmp_path / "journal-copy.json")
        (run_dir / name).symlink_to(tmp_path / "journal-copy.json")
        target = tmp_path / "journal-copy.json"
        original = target.read_bytes()
        os.symlink(outside, run_dir / "report.html")
    else:
        (run_dir / name).symlink_to(outside)
        target, original = outside, outside.read_bytes()
    assert main(["analyze", str(run_dir)]) == 0
    assert main(["report", str(run_dir)]) == 0
    assert outside.read_text() == "do not touch\n"
    assert target.read_bytes() == original
    for written in ("report.html", "junit.xml", "journal.json"):
        path = run_dir / written
        assert path.is_file() and not path.is_symlink(), written
    assert (run_dir / "report.html").read_text().startswith("<!DOCTYPE html>")
    assert not [p for p in run_dir.iterdir() if p.name.startswith(".") and p.name.endswith(".tmp")]


def test_a_report_path_that_is_a_folder_is_invalid_input(pristine, tmp_path, capsys):
    run_dir = _copy(pristine, tmp_path)
    (run_dir / "report.html").mkdir()
    assert main(["report", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert f"{run_dir}/report.html: is a folder" in err and "Traceback" not in err


def test_the_nightly_index_is_not_written_through_a_symlink(tmp_path):
    from chaos.reports.index import write_index

    outside = tmp_path / "precious.txt"
    outside.write_text("do not touch\n")
    out = tmp_path / "suite"
    out.mkdir()
    (out / "index.html").symlink_to(outside)
    path = write_index(out, [], "nightly")
    assert outside.read_text() == "do not touch\n"
    assert path.is_file() and not path.is_symlink()
    assert "nightly" in path.read_text()


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    from chaos.atomic import write_atomic

    path = tmp_path / "report.html"
    path.write_text("old")
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(OSError(28, "No space left")))
    from chaos.errors import EnvironmentProblem

    with pytest.raises(EnvironmentProblem, match="report.html"):
        write_atomic(path, "new")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
