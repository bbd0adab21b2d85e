"""Writing a file of a run folder (or of a suite's folder) atomically, never through a symlink.

``write_atomic(path, data)`` writes ``data`` to a new temporary file in ``path``'s folder (opened with
``O_CREAT | O_EXCL | O_NOFOLLOW``: never an existing file, never through a link), flushes it to disk
and renames it over ``path``. A reader sees the old file or the new one, never half of one. The
rename replaces ``path`` itself: if ``path`` is a symlink someone planted, the link is replaced by the
new file and its target is left as it was.

Errors: ``path`` a folder is invalid input (exit 2); any other failure (a full disk, no permission)
is an environment problem (exit 3) naming the file. Either way the old file stays and no temporary
file is left behind.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from chaos.errors import EnvironmentProblem, InvalidInput

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def write_atomic(path: Path | str, data: str | bytes) -> Path:
    """Write ``data`` (text is written as UTF-8) to ``path`` atomically; return ``path``."""
    path = Path(path)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if path.is_dir() and not path.is_symlink():
        raise InvalidInput(f"{path}: is a folder; cannot write a file there")
    tmp: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        while tmp is None:
            candidate = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
            try:
                fd = os.open(candidate, _FLAGS, 0o666)  # the umask applies, as for any new file
            except FileExistsError:
                continue
            tmp = candidate
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise EnvironmentProblem(f"{path}: cannot write: {e.strerror or e}") from None
    except BaseException:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise
    return path
