"""miniapp.watchdog: a blocked database call is cut after its budget, a finished one never is."""

import socket
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "stacks" / "mini-system" / "app"))

from miniapp.watchdog import Watchdog, shutdown_socket  # noqa: E402


def _conn(sock):
    return SimpleNamespace(pgconn=SimpleNamespace(socket=sock.fileno()))


def test_guard_unblocks_a_blocked_recv():
    a, b = socket.socketpair()
    try:
        dog = Watchdog()
        t0 = time.monotonic()
        with dog.guard(_conn(a), 0.2):
            data = a.recv(10)  # would block forever: the peer never writes
        assert data == b""
        assert 0.15 < time.monotonic() - t0 < 2.0
        assert dog.fired == 1
    finally:
        a.close()
        b.close()


def test_disarmed_guard_never_fires():
    fired = []
    dog = Watchdog(on_fire=fired.append)
    for i in range(50):
        with dog.guard(i, 0.05):
            pass
    with dog.guard("late", 0.1):
        time.sleep(0.3)
    time.sleep(0.2)
    assert fired == ["late"]


def test_earlier_deadline_wakes_the_watchdog():
    fired = []
    done = threading.Event()
    dog = Watchdog(on_fire=lambda c: (fired.append(c), done.set()))
    with dog.guard("slow", 30):
        t0 = time.monotonic()
        with dog.guard("fast", 0.1):
            assert done.wait(2)
        assert time.monotonic() - t0 < 1.5
    assert fired == ["fast"]


def test_shutdown_socket_ignores_closed_connections():
    shutdown_socket(SimpleNamespace(pgconn=SimpleNamespace(socket=-1)))
    shutdown_socket(object())
