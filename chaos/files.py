"""Reading and writing the files of a run folder (or of a suite's folder) safely.

Reading: a run folder is evidence someone may have damaged, so ``open_regular`` opens only regular
files (a FIFO would block, a device never end) and ``read_json`` turns every way a JSON file can be
wrong (missing, not a file, not UTF-8, not JSON, nested too deeply, a number Python will not read)
into InvalidInput naming the file, and the line and column when JSON says where.

A problem with the *shape* of a JSON file (a key missing, a value of the wrong type) is named by
``refuse`` as ``file:line: key.path: what is wrong``; the line is found by walking the text along the
key path with JSON's own decoder (``json_line``): where the value starts, or, if the path leads
somewhere the file does not go (a key missing), where the deepest part of it that exists starts.

Writing: ``write_atomic(path, data)`` writes ``data`` to a new temporary file in ``path``'s folder (opened with
``O_CREAT | O_EXCL | O_NOFOLLOW``: never an existing file, never through a link), flushes it to disk
and renames it over ``path``. A reader sees the old file or the new one, never half of one. The
rename replaces ``path`` itself: if ``path`` is a symlink someone planted, the link is replaced by the
new file and its target is left as it was.
The new file has ``FILE_MODE`` (0644) minus the umask, as every other file of a run folder.

Errors: ``path`` a folder is invalid input (exit 2); any other failure (a full disk, no permission)
is an environment problem (exit 3) naming the file. Either way the old file stays and no temporary
file is left behind.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import re
import secrets
import stat
from pathlib import Path
from typing import BinaryIO, Sequence

from chaos.errors import EnvironmentProblem, ExperimentInvalid, InvalidInput, Problem

MAX_PROBLEMS = 10  # problems named in one error; the rest are counted
# The one mode of every file the harness writes into a run folder (journal, reports, history, logs),
# minus the umask: readable by all, written by its owner only.
FILE_MODE = 0o644
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
                fd = os.open(candidate, _FLAGS, FILE_MODE)
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


def require_regular(path: Path | str) -> None:
    """InvalidInput naming ``path`` if it is missing or not a regular file (checked without opening
    it: opening a FIFO blocks)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise InvalidInput(f"{path}: not a regular file")
    except FileNotFoundError:
        raise InvalidInput(f"{path}: no such file") from None
    except OSError as e:
        raise InvalidInput(f"{path}: cannot read: {e.strerror or e}") from None


def open_if_regular(path: Path | str) -> BinaryIO | None:
    """``path`` opened for reading in binary, or None if what it names is not a regular file. Never
    blocks: opened with ``O_NONBLOCK`` (a FIFO put in a file's place since it was checked does not
    wait for a writer) and judged by ``fstat`` of the descriptor that will be read. OSError as
    ``open`` raises it."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    return os.fdopen(fd, "rb")


def open_regular(path: Path | str) -> BinaryIO:
    """``path`` opened for reading in binary if it is a regular file; InvalidInput naming it if it
    is missing, not a regular file, or unreadable."""
    path = Path(path)
    require_regular(path)
    try:
        f = open_if_regular(path)
    except FileNotFoundError:
        raise InvalidInput(f"{path}: no such file") from None
    except OSError as e:
        raise InvalidInput(f"{path}: cannot read: {e.strerror or e}") from None
    if f is None:
        raise InvalidInput(f"{path}: not a regular file")
    return f


def decode_text(path: Path | str, data: bytes) -> str:
    """``data`` (the bytes of the file at ``path``) as UTF-8 text; InvalidInput naming the line of
    the first byte that is not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise InvalidInput(f"{path}:{line}: not UTF-8 text (byte {data[e.start]:#04x})") from None


def read_text(path: Path | str) -> str:
    """The UTF-8 text of the regular file at ``path``; InvalidInput naming it if it has none."""
    with open_regular(path) as f:
        try:
            data = f.read()
        except OSError as e:
            raise InvalidInput(f"{path}: cannot read: {e.strerror or e}") from None
    return decode_text(path, data)


def json_type(value: object) -> str:
    """What a JSON value is, as a message says it: ``a string``, ``an object``, ``null``, ``NaN``..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}.get(str(value), "a number")
    return {str: "a string", list: "a list", dict: "an object"}.get(type(value), type(value).__name__)


def shown(key: object) -> str:
    """A name from a file, as a message prints it: as it is if printable, else quoted with its
    control characters escaped."""
    text = str(key)
    return text if text.isprintable() else repr(text)


def read_json(path: Path | str) -> object:
    """The JSON value of the file at ``path``; InvalidInput naming the file (and line:column of a
    syntax error) if it cannot be read as JSON."""
    path = Path(path)
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InvalidInput(f"{path}:{e.lineno}:{e.colno}: not JSON: {e.msg}") from None
    except RecursionError:
        raise InvalidInput(f"{path}: not JSON: nested too deeply") from None
    except ValueError as e:  # e.g. an integer of more than 4300 digits
        raise InvalidInput(f"{path}: not JSON: {e}") from None


_SPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()
_STEP = re.compile(r"\[(\d+)\]|([^.\[]+)")


def _skip(text: str, i: int) -> int:
    return _SPACE.match(text, i).end()


def _child(text: str, i: int, step: str | int) -> int | None:
    """Where the value at ``step`` (a key, or an index) of the container starting at ``i`` starts."""
    opener = text[i] if i < len(text) else ""
    if opener not in "{[" or isinstance(step, int) != (opener == "["):
        return None
    i, index = _skip(text, i + 1), 0
    while i < len(text) and text[i] not in "}]":
        if opener == "{":
            key, i = _DECODER.raw_decode(text, i)
            i = _skip(text, _skip(text, i) + 1)  # past the colon
            if key == step:
                return i
        elif index == step:
            return i
        _, i = _DECODER.raw_decode(text, i)
        i = _skip(text, i)
        if i < len(text) and text[i] == ",":
            i = _skip(text, i + 1)
        index += 1
    return None


def json_line(text: str, path: Sequence[str | int]) -> int:
    """The line (1-based) where the value at ``path`` starts in the JSON ``text`` (which decodes), or
    where the deepest part of ``path`` that exists starts: always the line of the value or of one
    holding it."""
    i = _skip(text, 0)
    for step in path:
        try:
            found = _child(text, i, step)
        except (ValueError, RecursionError):
            found = None
        if found is None:
            break
        i = found
    return text.count("\n", 0, i) + 1


def problem_path(problem: str) -> list[str | int]:
    """The key path a problem line starts with: ``services.orders.rto_s: expected ...`` ->
    ``["services", "orders", "rto_s"]``, ``checks[0].name: missing`` -> ``["checks", 0, "name"]``."""
    head = problem.split(": ", 1)[0] if ": " in problem else ""
    return [int(m[1]) if m[1] else m[2] for m in _STEP.finditer(head)]


def refuse(path: Path | str, problems: Sequence[str]) -> None:
    """InvalidInput naming ``path``, each problem's line and the problem (up to ``MAX_PROBLEMS``), if
    there are any. ``problems`` are lines ``key.path: what is wrong`` about the JSON file at ``path``."""
    if not problems:
        return
    try:
        text = read_text(path)
    except InvalidInput:
        text = None
    lines = []
    for problem in problems[:MAX_PROBLEMS]:
        line = "" if text is None else f":{json_line(text, problem_path(problem))}"
        lines.append(f"{path}{line}: {problem}")
    more = len(problems) - MAX_PROBLEMS
    if more > 0:
        lines.append(f"... and {more} more problems in {path}")
    raise InvalidInput("\n".join(lines))


MAX_FILE_BYTES = 1 << 20  # an input file larger than this is refused unread


def read_input(path: Path, what: str) -> str:
    """The UTF-8 text of the input file ``path`` (``what`` names it in messages). Refused unread
    (InvalidInput) when it is missing, not a regular file (a FIFO would hang, /dev/zero never ends)
    or larger than MAX_FILE_BYTES; ExperimentInvalid with the line when it is not UTF-8."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InvalidInput(f"{path}: no such {what}") from None
    except OSError as error:
        raise InvalidInput(f"{path}: cannot read the {what}: {error.strerror}") from None
    a = "an" if what[0] in "aeiou" else "a"
    if not stat.S_ISREG(info.st_mode):
        raise InvalidInput(f"{path}: not a regular file; expected {a} {what}")
    if info.st_size > MAX_FILE_BYTES:
        raise InvalidInput(f"{path}: larger than 1 MiB ({info.st_size} bytes); {a} {what} is small text")
    try:
        file = open_if_regular(path)  # should it have become a FIFO since stat, this does not wait
        if file is None:
            raise InvalidInput(f"{path}: not a regular file; expected {a} {what}")
        with file:
            data = file.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise InvalidInput(f"{path}: cannot read the {what}: {error.strerror}") from None
    if len(data) > MAX_FILE_BYTES:
        raise InvalidInput(f"{path}: larger than 1 MiB; {a} {what} is small text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ExperimentInvalid([Problem(str(path), line, None, "", "not UTF-8 text")]) from None


@functools.lru_cache(maxsize=16)
def _parsed(text: str):
    """``text`` parsed as YAML, kept for the next file of the same text: one ``validate`` of several
    experiments reads their stack's compose file once per experiment, and PyYAML's pure-Python
    parser takes about 0.1 s for a reference stack's. Keyed by the text itself, so a file changed
    on disk is parsed again; callers get a copy (``load_yaml``), never the kept object."""
    import yaml

    return yaml.safe_load(text)


def load_yaml(path: Path) -> dict:
    """The compose file (or stack.yaml) at ``path`` as a mapping, a copy of its own; InvalidInput if
    it cannot be read, is not YAML or is not a mapping. The contract checks, the stack's placement
    and published ports and the engine adapter's compose model all read a compose file through it."""
    import yaml  # here: the checks import this module, and need no YAML parser

    text = read_input(Path(path), "compose file")
    try:
        raw = copy.deepcopy(_parsed(text))
    except yaml.YAMLError as e:
        raise InvalidInput(f"{path}: not valid YAML: {e}") from None
    except (RecursionError, OverflowError, MemoryError, ValueError) as e:
        raise InvalidInput(f"{path}: cannot be read as a compose file ({type(e).__name__})") from None
    if not isinstance(raw, dict):
        raise InvalidInput(f"{path}: not a compose file (the top level is not a mapping)")
    return raw


def inside(path: Path, root: Path) -> bool:
    """Whether ``path``, symlinks followed, lies under ``root``."""
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a symlink loop
        return False
