"""kv-api: a tiny HTTP front for Redis under Sentinel (stdlib only: http.server + RESP over a socket).

    PUT  /kv/items/{id}   body = the value; 200 once acknowledged (see KV_ACK), else 503
    GET  /kv/items/{id}   200 with the value, 404 if absent
    GET  /kv/health       200 when a primary is known and answers PING
    POST /kv/readback     {"ids": [...]} -> {"counts": {id: 0 | 1}}  (read on the primary)

The primary is discovered through Sentinel (``SENTINEL get-master-addr-by-name``), refreshed by a
background thread every ``REFRESH_S``:

* ``KV_ACK=sync`` (stack kv-sentinel): the primary is what a MAJORITY of the sentinels say (so a
  sentinel that just came back with a stale view cannot send writes to a stale primary). A write
  is acknowledged only after ``WAIT 1 <KV_WAIT_MS>`` returned >= 1: the write is at both sites.
  One exception, the same choice as Patroni's non-strict synchronous mode in the dual-site stack:
  when the primary has no replica connected AND a majority of the sentinels see every replica of
  it down (the other site is dark, not merely cut off from the primary), the write is acknowledged with one copy (``X-Replicas: 0``); otherwise a write
  could never be acknowledged while a site is down. A WAIT that returns 0 in any other case
  answers 503 with ``X-Write-Outcome: unknown`` (the write may exist on the primary alone).
* ``KV_ACK=async`` (stack kv-sentinel-async): the primary is what the LOCAL sentinel says, and a
  write is acknowledged as soon as SET returned OK (asynchronous replication): the unsafe variant.

Errors: no primary known or the primary refused the write (READONLY, connection refused) -> 503
(definitely not written); the connection broke after the command was sent -> 503 with
``X-Write-Outcome: unknown``.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MASTER_NAME = os.environ.get("KV_MASTER_NAME", "kv")
ACK = os.environ.get("KV_ACK", "sync")
WAIT_MS = int(os.environ.get("KV_WAIT_MS", "1000"))
LOCAL_SENTINEL = os.environ.get("LOCAL_SENTINEL", "127.0.0.1:26379")
SENTINELS = [s for s in os.environ.get("SENTINELS", LOCAL_SENTINEL).split(",") if s]
PORT = int(os.environ.get("PORT", "8000"))
SOCKET_TIMEOUT_S = float(os.environ.get("KV_SOCKET_TIMEOUT_S", "1.5"))
REFRESH_S = 0.3
STALE_S = 2.0  # a view older than this is not trusted for the one-copy exception
KEY = "kv:item:"


# ------------------------------------------------------------------------------------------ RESP
class RedisError(Exception):
    """An error reply (``-ERR ...``, ``-READONLY ...``)."""


class Sent(Exception):
    """The connection failed after a command was sent: its effect is unknown."""


def encode(*args) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        b = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


class Conn:
    def __init__(self, addr: str, timeout: float = SOCKET_TIMEOUT_S):
        host, port = addr.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.buf = self.sock.makefile("rb")

    def close(self) -> None:
        try:
            self.buf.close()
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _read(self):
        line = self.buf.readline()
        if not line.endswith(b"\r\n"):
            raise ConnectionError("connection closed")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return RedisError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.buf.read(n + 2)
            if len(data) != n + 2:
                raise ConnectionError("connection closed")
            return data[:-2]
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise ConnectionError(f"bad reply {line[:40]!r}")

    def pipeline(self, *commands) -> list:
        """Send every command at once, read every reply; ``Sent`` if it broke after sending."""
        self.sock.sendall(b"".join(encode(*c) for c in commands))
        try:
            return [self._read() for _ in commands]
        except (OSError, ConnectionError, ValueError) as e:
            raise Sent(str(e)) from None

    def call(self, *args):
        reply = self.pipeline(args)[0]
        if isinstance(reply, RedisError):
            raise reply
        return reply


def text(v) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


# ------------------------------------------------------------------------------------------ view
class View:
    """What this kv-api believes: the primary, its replicas, and when that was learnt."""

    def __init__(self):
        self.lock = threading.Lock()
        self.master: str | None = None
        self.connected_replicas = -1
        self.replicas_all_down = False
        self.at = 0.0
        self.error = "not refreshed yet"

    def snapshot(self):
        with self.lock:
            return self.master, self.connected_replicas, self.replicas_all_down, self.at, self.error


VIEW = View()


def ask_sentinel(addr: str):
    try:
        with Conn(addr, timeout=0.7) as c:
            reply = c.call("SENTINEL", "get-master-addr-by-name", MASTER_NAME)
        return f"{text(reply[0])}:{text(reply[1])}" if reply else None
    except (OSError, ConnectionError, RedisError, Sent, ValueError):
        return None


def discover() -> str | None:
    if ACK == "async":
        return ask_sentinel(LOCAL_SENTINEL)
    need = len(SENTINELS) // 2 + 1
    votes: dict[str, int] = {}
    order = [LOCAL_SENTINEL] + [s for s in SENTINELS if s != LOCAL_SENTINEL]
    for addr in order:
        m = ask_sentinel(addr)
        if m:
            votes[m] = votes.get(m, 0) + 1
            if votes[m] >= need:
                return m
    return None


def sees_replicas_down(addr: str) -> bool:
    """This sentinel flags every replica it knows of down (or knows none)."""
    try:
        with Conn(addr, timeout=0.7) as c:
            replicas = c.call("SENTINEL", "replicas", MASTER_NAME) or []
    except (OSError, ConnectionError, RedisError, Sent, ValueError):
        return False
    for r in replicas:
        fields = {text(r[i]): text(r[i + 1]) for i in range(0, len(r) - 1, 2)}
        flags = fields.get("flags", "")
        if "s_down" not in flags and "o_down" not in flags and "disconnected" not in flags:
            return False
    return True


def replicas_all_down() -> bool:
    """A MAJORITY of the sentinels see every replica down: the other site is dark, not merely cut
    off from the primary (a cut link leaves the witness seeing the replica up)."""
    need = len(SENTINELS) // 2 + 1
    return sum(sees_replicas_down(a) for a in SENTINELS) >= need


def refresh_once() -> None:
    master = discover()
    replicas, all_down, error = -1, False, ""
    if master is None:
        error = "no primary known to the sentinels"
    else:
        try:
            with Conn(master, timeout=1.0) as c:
                info = text(c.call("INFO", "replication"))
            fields = dict(l.split(":", 1) for l in info.splitlines() if ":" in l)
            if fields.get("role") != "master":
                error = f"{master} is not a primary (role {fields.get('role')})"
            replicas = int(fields.get("connected_slaves", "0"))
            if ACK != "async" and replicas == 0:
                all_down = replicas_all_down()
        except (OSError, ConnectionError, RedisError, Sent, ValueError) as e:
            error = f"primary {master} does not answer: {e}"
    with VIEW.lock:
        VIEW.master = master if not error else None
        VIEW.connected_replicas, VIEW.replicas_all_down = replicas, all_down
        VIEW.at, VIEW.error = time.monotonic(), error


def refresher() -> None:
    while True:
        try:
            refresh_once()
        except Exception as e:  # noqa: BLE001 - the loop must never die
            with VIEW.lock:
                VIEW.master, VIEW.error = None, f"refresh failed: {e}"
        time.sleep(REFRESH_S)


# ------------------------------------------------------------------------------------------ HTTP
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: one line per request would flood the logs
        pass

    def answer(self, status: int, body, headers: dict | None = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream" if isinstance(body, bytes) else "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def item_id(self) -> str | None:
        prefix = "/kv/items/"
        if not self.path.startswith(prefix):
            return None
        i = self.path[len(prefix):]
        return i if 0 < len(i) <= 200 and "/" not in i else None

    def primary(self):
        master, replicas, all_down, at, error = VIEW.snapshot()
        if master is None:
            self.answer(503, {"error": error})
        return master, replicas, all_down, at

    # --------------------------------------------------------------------------------- routes
    def do_GET(self):
        if self.path == "/kv/health":
            master, replicas, _, at, error = VIEW.snapshot()
            if master is None or time.monotonic() - at > STALE_S:
                return self.answer(503, {"error": error or "view is stale"})
            return self.answer(200, {"primary": master, "connected_replicas": replicas, "ack": ACK})
        i = self.item_id()
        if i is None:
            return self.answer(404, {"error": "no such path"})
        master, *_ = self.primary()
        if master is None:
            return
        try:
            with Conn(master) as c:
                value = c.call("GET", KEY + i)
        except (OSError, ConnectionError, RedisError, Sent) as e:
            return self.answer(503, {"error": f"read failed: {e}"})
        if value is None:
            return self.answer(404, {"error": "not found"})
        return self.answer(200, value)

    def do_PUT(self):
        i = self.item_id()
        if i is None:
            return self.answer(404, {"error": "no such path"})
        value = self.body()
        if len(value) > 65536:
            return self.answer(413, {"error": "value larger than 64 KiB"})
        master, replicas, all_down, at = self.primary()
        if master is None:
            return
        alone = (ACK != "async" and replicas == 0 and all_down and time.monotonic() - at < STALE_S)
        commands = [("SET", KEY + i, value)]
        if ACK != "async" and not alone:
            commands.append(("WAIT", 1, WAIT_MS))
        unknown = {"X-Write-Outcome": "unknown"}
        try:
            with Conn(master) as c:
                replies = c.pipeline(*commands)
        except Sent as e:
            return self.answer(503, {"error": f"connection lost after sending: {e}"}, unknown)
        except OSError as e:  # the connection was never made: nothing was written
            return self.answer(503, {"error": f"primary {master} unreachable: {e}"})
        if isinstance(replies[0], RedisError):  # READONLY, OOM, ...: not written
            return self.answer(503, {"error": f"write refused: {replies[0]}"})
        if ACK == "async":
            return self.answer(200, {"id": i, "replicas": None, "ack": "async"})
        if alone:
            return self.answer(200, {"id": i, "replicas": 0, "ack": "alone"}, {"X-Replicas": "0"})
        acked = replies[1]
        if isinstance(acked, int) and acked >= 1:
            return self.answer(200, {"id": i, "replicas": acked, "ack": "sync"}, {"X-Replicas": str(acked)})
        return self.answer(503, {"error": f"WAIT 1 {WAIT_MS}: {acked} replicas"}, unknown)

    def do_POST(self):
        if self.path != "/kv/readback":
            return self.answer(404, {"error": "no such path"})
        try:
            ids = json.loads(self.body() or b"{}").get("ids")
            assert isinstance(ids, list) and all(isinstance(x, str) for x in ids)
        except (ValueError, AssertionError, AttributeError):
            return self.answer(400, {"error": 'body must be {"ids": [str, ...]}'})
        master, *_ = self.primary()
        if master is None:
            return
        try:
            with Conn(master, timeout=10) as c:
                replies = c.pipeline(*[("EXISTS", KEY + x) for x in ids]) if ids else []
        except (OSError, Sent) as e:
            return self.answer(503, {"error": f"read-back failed: {e}"})
        if any(not isinstance(r, int) for r in replies):
            return self.answer(503, {"error": "read-back failed: an error reply"})
        return self.answer(200, {"counts": dict(zip(ids, replies)), "primary": master})


def check() -> int:
    """Healthcheck: exit 0 when /kv/health answers 200."""
    import urllib.request
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{PORT}/kv/health", timeout=2)
        return 0
    except Exception:  # noqa: BLE001
        return 1


def main() -> None:
    if "--check" in sys.argv:
        sys.exit(check())
    threading.Thread(target=refresher, daemon=True).start()
    server = ThreadingHTTPServer(("0.0.0.0", PORT), Handler)
    server.daemon_threads = True
    print(f"kv-api on :{PORT}, ack {ACK}, sentinels {SENTINELS} (local {LOCAL_SENTINEL})", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
