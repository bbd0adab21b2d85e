"""truth: an HTTP service whose outage has an exactly known length, to calibrate the harness's RTO.

After it receives SIGUSR1 it answers ``GET <PREFIX>/ping`` with 503 for exactly ``OUTAGE_S``
seconds, then with 200 again. The outage starts when the signal is received (``time.monotonic()``
in the handler) and ends ``OUTAGE_S`` seconds later on the same clock; a request is judged by the
moment its handler runs. ``GET <PREFIX>/health`` always answers 200 (the healthcheck and the
harness's steady-state probe must not see the outage). A SIGUSR1 during an outage starts a new
one of full length from its own receipt.

Every outage is logged to stdout as one JSON line when it starts and one when it ends, with wall
and monotonic times (CLOCK_MONOTONIC is one clock for the host and its containers), so a test can
line the truth up with the harness's history::

    {"event": "outage_start", "outage_s": 3.0, "start_wall": ..., "start_mono": ...,
     "end_wall": ..., "end_mono": ...}
    {"event": "outage_end", ...same fields...}

Environment: ``OUTAGE_S`` (seconds, > 0, default 3), ``PREFIX`` (default ``/truth``), ``PORT``
(default 8000; 0 picks a free one, logged), ``HOST`` (default 0.0.0.0). ``python3 truth.py --check``
asks the running service for its health (the container's healthcheck). Python standard library only.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

OUTAGE_S = float(os.environ.get("OUTAGE_S", "3"))
PREFIX = "/" + os.environ.get("PREFIX", "/truth").strip("/")
PORT = int(os.environ.get("PORT", "8000"))
HOST = os.environ.get("HOST", "0.0.0.0")


class Outage:
    """The current outage: ``[start_mono, end_mono)`` on CLOCK_MONOTONIC; none before a signal."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.number = 0
        self.end_mono = float("-inf")

    def begin(self, now_mono: float, now_wall: float) -> dict:
        with self.lock:
            self.number += 1
            self.end_mono = now_mono + OUTAGE_S
            return {"outage": self.number, "outage_s": OUTAGE_S, "start_wall": now_wall,
                    "start_mono": now_mono, "end_wall": now_wall + OUTAGE_S, "end_mono": self.end_mono}

    def left_s(self, now_mono: float) -> float:
        """Seconds of outage left at ``now_mono`` (0 when the service is up)."""
        return max(0.0, self.end_mono - now_mono)


OUTAGE = Outage()
_log_lock = threading.Lock()


def log(event: str, record: dict) -> None:
    line = json.dumps({"event": event, **record}, separators=(",", ":"))
    with _log_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def on_sigusr1(_signum, _frame) -> None:
    # The outage's start is the signal's receipt: read the clocks first, before anything else.
    now_mono, now_wall = time.monotonic(), time.time()
    record = OUTAGE.begin(now_mono, now_wall)
    # Logging happens off the signal handler (the main thread runs the server loop).
    threading.Thread(target=log, args=("outage_start", record), daemon=True).start()
    threading.Thread(target=_log_end, args=(record,), daemon=True).start()


def _log_end(record: dict) -> None:
    """Log the outage's end when it comes, unless a newer outage superseded it."""
    time.sleep(max(0.0, record["end_mono"] - time.monotonic()))
    if OUTAGE.number == record["outage"]:
        log("outage_end", record)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the load reuses its connections
    server_version = "truth"

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        path = self.path.split("?", 1)[0]
        if path == PREFIX + "/ping":
            left = OUTAGE.left_s(time.monotonic())
            if left > 0:
                self.reply(503, {"ok": False, "outage_left_s": round(left, 6)})
            else:
                self.reply(200, {"ok": True})
        elif path == PREFIX + "/health":
            self.reply(200, {"ok": True})
        else:
            self.reply(404, {"error": "no such path"})

    def reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args) -> None:  # noqa: A002 - the http.server API
        pass  # ~100 requests a second: stdout carries only the outages


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        # The front closes idle keep-alive connections with a reset: routine, not an error.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def check() -> int:
    """The healthcheck: 0 if the running service answers its health path with 200."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{PORT}{PREFIX}/health", timeout=2) as r:
            return 0 if r.status == 200 else 1
    except OSError:
        return 1


def main() -> int:
    if "--check" in sys.argv[1:]:
        return check()
    if not OUTAGE_S > 0:
        print(f"OUTAGE_S must be > 0, got {OUTAGE_S}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGUSR1, on_sigusr1)
    # PID 1 in its container: without a handler, SIGTERM would be ignored and `docker stop` would wait.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = Server((HOST, PORT), Handler)
    log("listening", {"port": server.server_address[1], "prefix": PREFIX, "outage_s": OUTAGE_S})
    with server:
        server.serve_forever(poll_interval=0.5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
