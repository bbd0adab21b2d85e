"""The helper a stack's Locust workload calls for every request it wants judged.

Usage in a locustfile (runs inside the Locust process)::

    from chaos.load.recorder import request

    class Person(FastHttpUser):
        @task
        def send(self):
            r = request(self.client, "POST", "/orders/items",
                        service="orders", op="create", write_id=order_id, json={...})
            if r is not None:   # acknowledged
                ...

It times the request, classifies its outcome, marks it in Locust's own statistics and appends one
``op`` record to ``$CHAOS_HISTORY_DIR/load-<pid>.jsonl`` (see ``chaos.history``).

In a Locust worker (``locust --worker``, or ``CHAOS_LOAD_ROLE=worker``) it writes no file: records
are batched and sent to the master in Locust's own messages, and the master writes the history
(``chaos.load.distributed``). In a Locust master it is the master's end of that channel.

Outcome rules (Jepsen's ok / fail / info):
  * 2xx, or a status the caller listed in ``accept`` (an answer that is the expected outcome,
    e.g. 409 "already exists" for create-if-absent)  -> ok (a write is then *acknowledged*)
  * no answer and the connection was refused      -> fail (the request never reached a server)
  * no answer otherwise (timeout, reset, ...)     -> unknown
  * 502 / 504 (a gateway lost the answer), or an answer with ``X-Write-Outcome: unknown``
    (the server lost its database during commit)  -> unknown for a write, fail for a read
  * any other status                              -> fail
"""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path
from typing import Callable, Collection, Iterable

from chaos.history import HistoryWriter
from chaos.run_folder import FAIL, KIND_OP, OK, UNKNOWN, load_history_name

# Locust's exit code when some of this process's records could not be written to the history (a
# full disk): the runner reads it and judges the run ``unknown`` (``records_lost``), since the
# history then lacks requests that were made.
RECORDS_UNWRITTEN_EXIT = 75  # EX_TEMPFAIL

_writer: HistoryWriter | None = None
_writer_pid: int | None = None

# The clock of ``mono``: injectable, so a test can run a worker whose clock is not the master's.
_monotonic: Callable[[], float] = time.monotonic

ROLE_ENV = "CHAOS_LOAD_ROLE"  # "master" | "worker": set by the harness for the processes it starts
WORKER_NAME_ENV = "CHAOS_WORKER_NAME"  # a worker's name in the history (default: host-pid)
ENTRY_URL_ENV = "CHAOS_ENTRY_URL"  # a worker: the stack's entry point as its machine reaches it
READY_FILE_ENV = "CHAOS_READY_FILE"  # the master adds "started" (workers all in) and "stopping" to it
ROLE_MASTER, ROLE_WORKER = "master", "worker"

_batcher = None  # a worker's Batcher (chaos.load.distributed): its records' way to the master


def _warn(error: OSError) -> None:
    print(f"chaos-harness recorder: cannot write the history ({error}); records are kept in memory "
          "and the run will be judged unknown", file=sys.stderr, flush=True)


def _history():
    """Where this process's records go: the worker's batcher, this process's history file, or None
    (no history: a plain Locust run)."""
    global _writer, _writer_pid
    if _batcher is not None or os.environ.get(ROLE_ENV) == ROLE_WORKER:
        return _worker_batcher()
    directory = os.environ.get("CHAOS_HISTORY_DIR")
    if not directory:
        return None
    if _writer is None or _writer_pid != os.getpid():
        _writer = HistoryWriter(Path(directory) / load_history_name(os.getpid()), on_error=_warn)
        _writer_pid = os.getpid()
        _on_quit(_writer)
    return _writer


def _worker_batcher():
    global _batcher
    if _batcher is None:
        from chaos.load.distributed import Batcher, worker_name

        _batcher = Batcher(worker_name(os.environ.get(WORKER_NAME_ENV) or f"{socket.gethostname()}-{os.getpid()}"))
    return _batcher


def _on_init(environment, **_kw) -> None:
    """Locust's ``init`` event (its runner exists): a worker sends its records to the master, a master
    writes every worker's records into ``$CHAOS_HISTORY_DIR``."""
    from locust.runners import MasterRunner, WorkerRunner

    from chaos.load import distributed

    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        distributed.install_worker(environment, _worker_batcher(), clock=lambda: _monotonic(),
                                   entry_url=os.environ.get(ENTRY_URL_ENV) or None)
    elif isinstance(runner, MasterRunner):
        directory = os.environ.get("CHAOS_HISTORY_DIR")
        if not directory:
            print("chaos-harness recorder: a master without CHAOS_HISTORY_DIR: the workers' records are "
                  "not kept", file=sys.stderr, flush=True)
            return
        collector = distributed.Collector(Path(directory), lambda path: HistoryWriter(path, on_error=_warn))
        distributed.install_master(environment, collector, ready=_ready_signal("started"),
                                   stopping=_ready_signal("stopping"))

        @environment.events.quit.add_listener
        def _close(**_kw):
            collector.close()
            errors = collector.errors()
            if errors:
                try:
                    print("chaos-harness master: the history could not be written as the run went ("
                          + "; ".join(errors) + ")", file=sys.stderr, flush=True)
                except OSError:
                    pass
                os._exit(RECORDS_UNWRITTEN_EXIT)


def _ready_signal(word: str):
    """A function adding the line ``word`` to ``$CHAOS_READY_FILE`` (the harness reads it: "started"
    when every worker is in and the users start, "stopping" when the load stops, from which moment
    a worker that leaves is not lost), or None without it."""
    path = os.environ.get(READY_FILE_ENV)
    if not path:
        return None

    def ready() -> None:
        try:
            with open(path, "a") as f:
                f.write(word + "\n")
        except OSError as e:
            print(f"chaos-harness master: cannot tell the harness {word!r} ({path}: {e})", file=sys.stderr,
                  flush=True)

    return ready


def _register_init() -> None:
    if "locust" not in sys.modules:  # a unit test or a plain script
        return
    from locust import events

    events.init.add_listener(_on_init)


def _on_quit(writer: HistoryWriter) -> None:
    """In a Locust process: once Locust's users have stopped (its ``quit`` event, the last before the
    process exits: on a SIGTERM stop, requests still in flight finish after ``quitting``), a last
    try to write what the disk refused, and the exit code ``RECORDS_UNWRITTEN_EXIT`` if any write
    failed during the run. Locust has chosen its exit code by then, so this one ends the process
    itself (``os._exit``)."""
    if "locust" not in sys.modules:  # a unit test or a plain script: no Locust to report to
        return
    from locust import events  # already imported by the locustfile that imported us

    @events.quit.add_listener
    def _report(**_kw):
        complete = writer.close()
        if writer.error is None:
            return
        try:  # stderr may sit on the full disk too
            left = "" if complete else "; some are lost"
            print(f"chaos-harness recorder: the history could not be written as the run went "
                  f"({writer.error}){left}", file=sys.stderr, flush=True)
        except OSError:
            pass
        os._exit(RECORDS_UNWRITTEN_EXIT)


def classify(status: int, error: BaseException | str | None, headers, is_write: bool,
             accept: Collection[int] = ()) -> str:
    if 200 <= status < 300 or (400 <= status < 500 and status in accept):
        return OK
    if not status:
        text = f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else str(error)
        if isinstance(error, ConnectionRefusedError) or "refused" in text.lower():
            return FAIL
        return UNKNOWN
    unknown_marker = (headers or {}).get("X-Write-Outcome", "") if headers is not None else ""
    if is_write and (status in (502, 504) or str(unknown_marker).lower() == "unknown"):
        return UNKNOWN
    return FAIL


def _body_excerpt(resp, limit: int = 120) -> str:
    """``": <the answer's first characters>"`` for a failed request's history record, so a 503 tells
    who gave it (the service's own JSON error, or a load balancer's HTML page); "" if none."""
    try:
        text = " ".join((resp.text or "").split())
    except Exception:  # noqa: BLE001 - an undecodable or missing body
        return ""
    return f": {text[:limit]}" if text else ""


def request(client, method: str, path: str, *, service: str, op: str, write_id: str | None = None,
            accept: Collection[int] = (), who: str | None = None, expect: Collection[str] = (),
            seen: Callable[[object], Iterable[str]] | None = None, **kwargs):
    """Do one request through a Locust HTTP client; return the response if it was ok, else None.

    ``accept``: statuses besides 2xx that are a success for this request (the caller then reads
    ``status_code`` to tell them apart). Only for definite answers, such as 409 "exists" when
    the write_id names the thing that exists; never for 5xx.

    ``who``: the logical client making the request (a person of the workload), recorded.
    ``expect`` and ``seen``, for a read that must reflect ``who``'s own acknowledged writes: the ids
    of those writes, and a function of the ok response giving the ids (of ``expect``) it reflected.
    Both are recorded (``expect``, ``saw``) for the read-your-writes check; a ``seen`` that raises
    records ``saw`` as null (the read could not be inspected), never a pass."""
    start = time.time()
    mono = _monotonic()
    status = 0
    error_text = None
    outcome = UNKNOWN
    response = None
    with client.request(method, path, name=f"{service}:{op}", catch_response=True, **kwargs) as resp:
        latency = _monotonic() - mono
        status = resp.status_code or 0
        error = getattr(resp, "error", None)
        try:
            headers = resp.headers if status else None
        except Exception:  # noqa: BLE001 - a broken answer has no headers
            headers = None
        outcome = classify(status, error, headers, is_write=write_id is not None, accept=accept)
        if outcome == OK:
            resp.success()
            response = resp
        else:
            error_text = (f"{type(error).__name__}: {error}" if isinstance(error, BaseException)
                          else (str(error) if error else f"HTTP {status}{_body_excerpt(resp)}"))
            resp.failure(f"{outcome}: {error_text}")
    record = {"kind": KIND_OP, "service": service, "op": op, "outcome": outcome,
              "start": start, "mono": mono, "latency": latency, "write_id": write_id,
              "status": status or None, "error": error_text, "proc": os.getpid()}
    if who is not None:
        record["who"] = who
    if expect:
        record["expect"] = list(expect)
        record["saw"] = _seen(seen, response, expect) if response is not None else None
    writer = _history()
    if writer is not None:
        writer.write(record)
    return response


def _seen(seen, response, expect: Collection[str]) -> list[str] | None:
    """The ids of ``expect`` the response reflected, by ``seen``; None if it could not tell."""
    if seen is None:
        return None
    try:
        found = set(seen(response))
    except Exception:  # noqa: BLE001 - an answer the workload could not parse is not a fresh read
        return None
    return [i for i in expect if i in found]


_register_init()
