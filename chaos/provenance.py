"""Where a run came from, so an odd run can be explained afterwards: the harness's version and git
commit (when it runs from a checkout), a hash of the stack's files, and what the stack said of its
layout before the first fault (where the database primary and the consensus leader were).

``gather`` returns a dict for meta.json; the runner keeps it under ``meta["environment"]
["provenance"]``, so the journal's ``environment`` carries it and the HTML report shows it (a run
folder written before has none: the report says so). Shape::

    {"harness": {"version": "0.1.0", "commit": "2b4d740..." | null, "checkout": "clean" | "modified"
                 | "not a git checkout" | "git did not answer: ..."},
     "stack": {"name": "dual-site", "files_sha256": "...", "files": {relative path: sha256[:12]}},
     "before_first_fault": {"prepare": [lines], "steady_state": {name: line}} | "not declared"}

``before_first_fault`` is the stack's own words, nothing parsed: the output of its ``prepare``
commands (a stack that moves its consensus leader and its primary to one site before each run says
where they are) and the first line of each ``steady_state`` command checked before the load (a
topology check names the primary and its standbys). A stack that declares neither gets ``"not
declared"``.

Nothing here may fail a run: every part that cannot be read says why in its place.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Sequence

from chaos import __version__

if TYPE_CHECKING:
    from chaos.stack import StackDef

GIT_TIMEOUT_S = 5.0
MAX_FILE_BYTES = 64 * 1024 * 1024  # a bigger file in a stack's folder is hashed by its size alone
NOT_DECLARED = "not declared"
_SKIPPED_DIRS = {"__pycache__", ".git", ".pytest_cache"}
CHECKOUT = Path(__file__).resolve().parents[1]  # the folder holding this package

PROVENANCE = "provenance"  # its key in meta.json's environment (the runner puts it there)


def _git(args: Sequence[str], where: Path) -> str:
    done = subprocess.run(["git", "-C", str(where), *args], capture_output=True, text=True,
                          timeout=GIT_TIMEOUT_S, check=True)
    return done.stdout.strip()


def harness(where: Path = CHECKOUT) -> dict:
    """The harness's version, and its git commit when ``where`` is a git checkout."""
    found: dict = {"version": __version__, "commit": None}
    try:
        found["commit"] = _git(["rev-parse", "HEAD"], where)
        changed = _git(["status", "--porcelain", "--untracked-files=no", "--", "chaos"], where)
        found["checkout"] = "modified" if changed else "clean"
    except subprocess.CalledProcessError:
        found["checkout"] = "not a git checkout"
    except (OSError, subprocess.TimeoutExpired) as e:
        found["checkout"] = f"git did not answer: {type(e).__name__}"
    return found


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        digest.update(f"size {size}".encode())
    else:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def stack_files(folder: Path, extra: Sequence[Path] = ()) -> dict:
    """A hash of every file in the stack's ``folder`` and in the ``extra`` folders it uses outside it
    (the folder of its workload and read-back, which may hold the apps' code too): symlinked files by their target's content, symlinked folders not followed.
    ``files_sha256`` is over the sorted (path, content hash) pairs; ``files`` gives each file's hash
    (12 hex digits) by its path relative to ``folder``."""
    folder = Path(folder)
    paths: dict[str, Path] = {}
    for top in (folder, *extra):
        for root, dirs, names in os.walk(top):
            dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS)
            for name in names:
                path = Path(root) / name
                if path.is_file() and not name.endswith((".pyc", ".pyo")):
                    paths.setdefault(Path(os.path.relpath(path, folder)).as_posix(), path)
    files, total = {}, hashlib.sha256()
    for rel in sorted(paths):
        try:
            digest = _file_digest(paths[rel])
        except OSError as e:
            digest = f"unreadable: {type(e).__name__}"
        files[rel] = digest[:12]
        total.update(f"{rel}\0{digest}\n".encode())
    return {"files_sha256": total.hexdigest(), "files": files}


def before_first_fault(prepare_lines: Sequence[str] = (),
                       steady_before: Mapping[str, tuple] | None = None) -> dict | str:
    """What the stack said of its layout before the load: its ``prepare`` commands' output and the
    first line of each steady-state check (``chaos.stack.steady_state`` or ``wait_steady_state``
    results: name -> (holds, line, ...)); ``"not declared"`` when it has neither."""
    found: dict = {}
    if prepare_lines:
        found["prepare"] = [str(line) for line in prepare_lines]
    if steady_before:
        found["steady_state"] = {name: str(result[1]) for name, result in steady_before.items()}
    return found or NOT_DECLARED


def gather(stack: StackDef, prepare_lines: Sequence[str] = (),
           steady_before: Mapping[str, tuple] | None = None) -> dict:
    """The provenance of a run on ``stack`` (see the module's docstring), for meta.json.
    ``prepare_lines``: what ``chaos.stack.run_prepare`` returned; ``steady_before``: the steady-state
    results checked before the load."""
    try:
        home = Path(stack.dir).resolve()
        outside = sorted({p.parent for p in (Path(stack.workload), Path(stack.readback))
                          if home not in p.resolve().parents})
        files = stack_files(stack.dir, outside)
    except OSError as e:
        files = {"files_sha256": None, "files": f"could not be read: {e}"}
    return {"harness": harness(),
            "stack": {"name": stack.name, **files},
            "before_first_fault": before_first_fault(prepare_lines, steady_before)}
