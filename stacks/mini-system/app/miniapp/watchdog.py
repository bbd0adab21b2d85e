"""A client-side deadline for database connections.

``statement_timeout`` runs on the server: if the network path silently drops packets (a partition
through a proxy that still accepts our bytes), the server never sees the query and the thread
waiting for the answer would block forever. :meth:`Watchdog.guard` bounds that wait: if the block
is still running after ``seconds``, the connection's socket is shut down, so the blocked call fails
at once with a connection error and the pool discards that connection.

Stdlib only. One daemon thread serves every guard.
"""

from __future__ import annotations

import heapq
import itertools
import os
import socket
import threading
import time
from contextlib import contextmanager
from typing import Iterator


def shutdown_socket(conn) -> None:
    """Shut down the socket of a psycopg connection (anything with ``pgconn.socket``)."""
    try:
        fd = conn.pgconn.socket
        dup = socket.socket(fileno=os.dup(fd))
    except Exception:  # noqa: BLE001 - already closed: nothing to do
        return
    try:
        dup.shutdown(socket.SHUT_RDWR)  # acts on the socket itself, not only on our duplicate fd
    except OSError:
        pass
    finally:
        dup.close()


class Watchdog:
    def __init__(self, on_fire=shutdown_socket):
        self._on_fire = on_fire
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, list]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        self.fired = 0

    @contextmanager
    def guard(self, conn, seconds: float) -> Iterator[None]:
        """Fire on ``conn`` if the block has not finished after ``seconds``.

        Once the block has exited, the watchdog never touches ``conn`` again (the check and the
        disarm happen under one lock), so a connection handed to the next user is safe.
        """
        entry = [conn]
        with self._cond:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="db-watchdog", daemon=True)
                self._thread.start()
            heapq.heappush(self._heap, (time.monotonic() + seconds, next(self._seq), entry))
            if self._heap[0][2] is entry:
                self._cond.notify()
        try:
            yield
        finally:
            with self._cond:
                entry[0] = None

    def _run(self) -> None:
        with self._cond:
            while True:
                while self._heap and self._heap[0][2][0] is None:
                    heapq.heappop(self._heap)  # disarmed
                if not self._heap:
                    self._cond.wait()
                    continue
                delay = self._heap[0][0] - time.monotonic()
                if delay > 0:
                    self._cond.wait(delay)
                    continue
                _, _, entry = heapq.heappop(self._heap)
                conn, entry[0] = entry[0], None
                self.fired += 1
                try:
                    self._on_fire(conn)
                except Exception:  # noqa: BLE001 - the watchdog must survive anything
                    pass
