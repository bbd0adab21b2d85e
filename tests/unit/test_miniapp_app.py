"""The FastAPI apps without a database: errors are JSON with X-Site, auth, 413, 503 semantics.

Needs the app's own dependencies (fastapi, psycopg, argon2): skipped in the harness's test env,
run it in a venv made from stacks/mini-system/app/requirements.txt (+ pytest).
"""

import asyncio
import importlib
import json
import sys
import tempfile
from pathlib import Path

import pytest

for module in ("fastapi", "psycopg", "psycopg_pool", "argon2", "cryptography"):
    pytest.importorskip(module)
MINI = Path(__file__).resolve().parents[2] / "stacks" / "mini-system"
sys.path.insert(0, str(MINI / "app"))

from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from miniapp import tokens  # noqa: E402
from miniapp.db import DatabaseUnavailable  # noqa: E402
from miniapp.web import ConfigError, Settings, create_app  # noqa: E402

# A keypair of these tests' own (no key is committed to the repository).
PRIVATE = Ed25519PrivateKey.generate()
KEYS = Path(tempfile.mkdtemp(prefix="miniapp-keys-"))
PRIVATE_FILE, PUBLIC_FILE = KEYS / "token_ed25519.pem", KEYS / "token_ed25519.pub.pem"
PRIVATE_FILE.write_bytes(PRIVATE.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
PUBLIC_FILE.write_bytes(PRIVATE.public_key().public_bytes(serialization.Encoding.PEM,
                                                          serialization.PublicFormat.SubjectPublicKeyInfo))
READBACK = "readback-token-of-these-tests"


class FakeDb:
    """Stands in for miniapp.db.Database: ``error`` is raised by run(), else ``result`` returned."""

    def __init__(self, ready=True, error=None, result=None):
        self.ready, self.error, self.result, self.calls = ready, error, result, 0

    def run(self, fn, **kw):
        self.calls += 1
        if self.error:
            raise self.error
        return self.result

    def ping(self, timeout_s=1.0):
        return self.ready


def app_for(service, db, reads=None, read_database_url=None):
    settings = Settings(service=service, database_url="postgresql://unused", site="pangyo",
                        readback_token=READBACK, public_key_file=str(PUBLIC_FILE),
                        private_key_file=str(PRIVATE_FILE) if service == "login" else None,
                        read_database_url=read_database_url)
    return create_app(importlib.import_module(f"miniapp.{service}"), settings, db=db, reads=reads)


def call(app, method, path, body=None, headers=None, chunks=None):
    """Drive the ASGI app directly; returns (status, headers, parsed JSON body)."""
    raw = json.dumps(body).encode() if body is not None else b""
    hdrs = dict(headers or {})
    if chunks is None:
        chunks = [raw]
        hdrs.setdefault("content-length", str(len(raw)))
    if body is not None or chunks != [b""]:
        hdrs.setdefault("content-type", "application/json")
    path, _, query = path.partition("?")

    async def go():
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
                 "query_string": query.encode(), "root_path": "",
                 "headers": [(k.lower().encode(), v.encode()) for k, v in hdrs.items()],
                 "client": ("127.0.0.1", 5), "server": ("127.0.0.1", 8000)}
        messages = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
                    for i, c in enumerate(chunks)]
        out = []

        async def receive():
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message):
            out.append(message)

        await app(scope, receive, send)
        start = next(m for m in out if m["type"] == "http.response.start")
        data = b"".join(m.get("body", b"") for m in out if m["type"] == "http.response.body")
        return (start["status"], {k.decode().lower(): v.decode() for k, v in start["headers"]},
                json.loads(data))

    return asyncio.run(go())


def bearer(user_id=1, name="alice", **kw):
    return {"authorization": f"Bearer {tokens.sign(PRIVATE, user_id, name, **kw)[0]}"}


def test_health_reflects_the_database():
    status, headers, body = call(app_for("login", FakeDb(ready=False)), "GET", "/login/health")
    assert (status, body, headers["x-site"]) == (503, {"status": "starting", "site": "pangyo"}, "pangyo")
    status, _, body = call(app_for("payment", FakeDb()), "GET", "/payment/health")
    assert (status, body) == (200, {"status": "ok", "site": "pangyo"})


def test_validation_errors_name_the_field_without_echoing_input():
    status, headers, body = call(app_for("login", FakeDb()), "POST", "/login/signup",
                                 {"username": "A", "password": "secret-but-short"[:5]})
    assert status == 422 and headers["x-site"] == "pangyo"
    assert {tuple(d["loc"]) for d in body["detail"]} == {("body", "username"), ("body", "password")}
    assert "secre" not in json.dumps(body)
    status, _, body = call(app_for("payment", FakeDb()), "POST", "/payment/transfers",
                           {"to_user": "bob", "amount": "5", "idempotency_key": "k"}, headers=bearer())
    assert status == 422 and body["detail"][0]["loc"] == ["body", "amount"]


def test_a_weak_password_is_refused_at_signup_before_any_work():
    db = FakeDb(result=(1,))
    app = app_for("login", db)
    for pw in (" " * 8, "aaaaaaaa"):
        status, _, body = call(app, "POST", "/login/signup", {"username": "alice", "password": pw})
        assert status == 422 and [d["loc"] for d in body["detail"]] == [["body", "password"]]
    assert db.calls == 0
    status, _, body = call(app, "POST", "/login/signup", {"username": "alice", "password": "c0rrect-h0rse"})
    assert (status, body) == (201, {"user_id": 1, "username": "alice"}) and db.calls == 1


def test_tokens_are_required_and_checked_locally():
    db = FakeDb(result=[])
    app = app_for("messaging", db)
    msg = {"client_msg_id": "m1", "text": "hi"}
    for headers in ({}, {"authorization": "Basic abc"}, {"authorization": "Bearer x.y.z"},
                    bearer(now=0), {"authorization": bearer()["authorization"][:-3] + "abc"}):
        status, h, body = call(app, "POST", "/messaging/rooms/r1/messages", msg, headers)
        assert status == 401 and "error" in body and h["x-site"] == "pangyo"
    assert db.calls == 0
    status, _, _ = call(app, "GET", "/messaging/rooms/r1/messages?after=0", headers=bearer())
    assert status == 200 and db.calls == 1


def test_database_errors_are_503_and_say_when_the_outcome_is_unknown():
    app = app_for("messaging", FakeDb(error=DatabaseUnavailable("boom", outcome_unknown=True)))
    status, headers, body = call(app, "POST", "/messaging/rooms/r1/messages",
                                 {"client_msg_id": "m1", "text": "hi"}, bearer())
    assert (status, body, headers.get("x-write-outcome")) == (503, {"error": "database unavailable"}, "unknown")
    app = app_for("login", FakeDb(error=DatabaseUnavailable("down")))
    status, headers, body = call(app, "POST", "/login/login", {"username": "alice", "password": "12345678"})
    assert (status, body, "x-write-outcome" in headers) == (503, {"error": "database unavailable"}, False)


def test_body_limit():
    app = app_for("login", FakeDb())
    status, headers, body = call(app, "POST", "/login/signup", headers={"content-length": "70000"},
                                 chunks=[b"{}"])
    assert status == 413 and body == {"error": "request body too large"} and headers["x-site"]
    status, _, body = call(app, "POST", "/login/signup", chunks=[b'{"username": "' + b"a" * 40000,
                                                                 b"b" * 40000 + b'"}'])
    assert status == 413


def test_readback_needs_the_token():
    db = FakeDb(result={"alice": 1})
    app = app_for("login", db)
    status, _, body = call(app, "POST", "/login/readback", {"ids": ["alice", "bob", "alice"]})
    assert status == 403 and db.calls == 0
    status, _, body = call(app, "POST", "/login/readback", {"ids": ["alice", "bob", "alice"]},
                           {"x-readback-token": READBACK})
    assert (status, body) == (200, {"counts": {"alice": 1, "bob": 0}})
    status, _, _ = call(app_for("payment", FakeDb()), "GET", "/payment/audit")
    assert status == 403


def test_unknown_route_and_crash_are_json():
    app = app_for("payment", FakeDb(error=RuntimeError("bug")))
    status, _, body = call(app, "GET", "/payment/nope")
    assert (status, body) == (404, {"error": "Not Found"})
    status, headers, body = call(app, "GET", "/payment/wallets/me", headers=bearer())
    assert (status, body, headers["x-site"]) == (500, {"error": "internal error"}, "pangyo")


def test_self_payment_refused():
    status, _, body = call(app_for("payment", FakeDb()), "POST", "/payment/transfers",
                           {"to_user": "alice", "amount": 5, "idempotency_key": "k"}, bearer())
    assert (status, body) == (422, {"error": "cannot pay yourself"})


def test_paying_from_another_users_wallet_is_refused_before_the_database():
    db = FakeDb()
    app = app_for("payment", db)
    body = {"from_user": "bob", "to_user": "carol", "amount": 5, "idempotency_key": "k"}
    status, _, answer = call(app, "POST", "/payment/transfers", body, bearer(name="alice"))
    assert (status, answer, db.calls) == (403, {"error": "you can only pay from your own wallet"}, 0)
    # An unknown field is refused, not ignored: nobody believes they chose the paying wallet.
    body = {"from_wallet": "bob", "to_user": "carol", "amount": 5, "idempotency_key": "k"}
    status, _, answer = call(app, "POST", "/payment/transfers", body, bearer(name="alice"))
    assert status == 422 and answer["detail"][0]["loc"] == ["body", "from_wallet"] and db.calls == 0


def test_the_token_is_checked_before_the_body():
    """A bad token gets 401 even when the body or the path is invalid too."""
    for svc, path, body in (("payment", "/payment/transfers", {"amount": "abc"}),
                            ("messaging", "/messaging/rooms", {"room": "a b"}),
                            ("messaging", "/messaging/rooms/bad%20room/members", {"username": "B!"}),
                            ("messaging", "/messaging/rooms/r1/messages", {"text": ""})):
        for headers in ({}, bearer(now=0), {"authorization": bearer()["authorization"][:-3] + "abc"}):
            status, _, answer = call(app_for(svc, FakeDb()), "POST", path, body, headers)
            assert status == 401 and "error" in answer, (path, headers, status, answer)


def test_room_names_are_validated():
    app = app_for("messaging", FakeDb())
    for room in ("", "a b", "x" * 65, "é", "a/b", 5, None):
        status, _, body = call(app, "POST", "/messaging/rooms", {"room": room}, bearer())
        assert status == 422 and body["detail"][0]["loc"] == ["body", "room"], room
    status, _, body = call(app, "POST", f"/messaging/rooms/{'x' * 65}/members", {"username": "bob"},
                           bearer())
    assert status == 422 and body["detail"][0]["loc"] == ["path", "room"]


def test_each_service_serves_its_openapi_document_under_its_prefix_and_no_cdn_pages():
    for svc in ("login", "messaging", "payment"):
        app = app_for(svc, FakeDb())
        status, headers, doc = call(app, "GET", f"/{svc}/openapi.json")
        assert status == 200 and headers["x-site"] == "pangyo"
        assert doc["openapi"].startswith("3.") and all(p.startswith(f"/{svc}/") for p in doc["paths"])
        assert set(doc["components"]["securitySchemes"]) == {"token", "readback"}
        for page in (f"/{svc}/docs", f"/{svc}/redoc", "/docs", "/openapi.json"):
            assert call(app, "GET", page)[0] == 404, page
    doc = call(app_for("messaging", FakeDb()), "GET", "/messaging/openapi.json")[2]
    assert "/messaging/rooms/{room}/join" not in doc["paths"]
    assert {"/messaging/rooms", "/messaging/rooms/{room}/members",
            "/messaging/rooms/{room}/messages"} <= set(doc["paths"])
    send = doc["paths"]["/messaging/rooms/{room}/messages"]["post"]
    assert send["security"] == [{"token": []}] and {"401", "403", "404", "422"} <= set(send["responses"])


class RecordingConn:
    """A connection that answers each statement from ``answers`` (in order) and records it."""

    def __init__(self, *answers):
        self.answers, self.executed = list(answers), []

    def execute(self, sql, params=None):
        self.executed.append((" ".join(sql.split()), params))
        return iter(self.answers.pop(0))


def test_payment_readback_ids_name_the_payer_and_the_key():
    payment = importlib.import_module("miniapp.payment")
    conn = RecordingConn([("alice", 1)], [("alice", "k1", 1), ("bob", "k1", 2)])
    counts = payment.readback(conn, ["w:alice", "t:alice/k1", "t:bob/k1", "t:carol/k1", "t:k1"])
    assert counts == {"w:alice": 1, "t:alice/k1": 1, "t:bob/k1": 2}
    (_, wallets), (sql, (payers, keys)) = conn.executed
    assert wallets == (["alice"],)
    assert (payers, keys) == (["alice", "bob", "carol"], ["k1", "k1", "k1"])  # "t:k1" names no payer
    assert "a.username = q.payer AND t.idempotency_key = q.key" in sql


def test_rooms_are_joined_only_by_a_members_invitation():
    db = FakeDb()
    app = app_for("messaging", db)
    status, _, _ = call(app, "POST", "/messaging/rooms/r1/join", headers=bearer(name="mallory"))
    assert status in (404, 405) and db.calls == 0  # the open join is gone
    invite = {"username": "bob"}
    for answer, expected in (((True, True, True), 201), ((True, True, False), 200),
                             ((False, True, False), 403), ((False, False, False), 404)):
        db.result = answer
        status, _, body = call(app, "POST", "/messaging/rooms/r1/members", invite, bearer())
        assert status == expected, (answer, body)
        if status < 300:
            assert body == {"room": "r1", "username": "bob", "already_member": status == 200}
    calls = db.calls
    status, _, body = call(app, "POST", "/messaging/rooms/r1/members", {"username": "B!"}, bearer())
    assert status == 422 and db.calls == calls
    messaging = importlib.import_module("miniapp.messaging")
    assert "WHERE (SELECT is_member FROM m)" in messaging._INVITE  # only a member's invitation writes


def test_no_service_starts_without_a_read_back_token_of_its_own(monkeypatch, tmp_path):
    for var in ("READBACK_TOKEN", "READBACK_TOKEN_FILE", "TOKEN_PRIVATE_KEY_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("TOKEN_PUBLIC_KEY_FILE", str(PUBLIC_FILE))
    with pytest.raises(ConfigError, match="no read-back token"):
        Settings.from_env("payment")  # there is no default token any more
    monkeypatch.setenv("READBACK_TOKEN_FILE", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="READBACK_TOKEN_FILE"):
        Settings.from_env("payment")
    (tmp_path / "short").write_text("dev\n")
    monkeypatch.setenv("READBACK_TOKEN_FILE", str(tmp_path / "short"))
    with pytest.raises(ConfigError, match="at least 16"):
        Settings.from_env("payment")
    (tmp_path / "token").write_text("a-generated-token-of-43-characters-for-sure\n")
    monkeypatch.setenv("READBACK_TOKEN_FILE", str(tmp_path / "token"))
    assert Settings.from_env("payment").readback_token == "a-generated-token-of-43-characters-for-sure"
    monkeypatch.delenv("TOKEN_PUBLIC_KEY_FILE")
    with pytest.raises(ConfigError, match="TOKEN_PUBLIC_KEY_FILE"):
        Settings.from_env("payment")  # no default key path either


def test_only_login_may_hold_the_private_key(monkeypatch):
    monkeypatch.setenv("READBACK_TOKEN", READBACK)
    monkeypatch.setenv("TOKEN_PUBLIC_KEY_FILE", str(PUBLIC_FILE))
    monkeypatch.setenv("TOKEN_PRIVATE_KEY_FILE", str(PRIVATE_FILE))
    assert Settings.from_env("login").private_key_file == str(PRIVATE_FILE)
    for service in ("messaging", "payment"):
        with pytest.raises(ConfigError, match="only login signs tokens"):
            Settings.from_env(service)


def test_main_refuses_to_start_without_secrets(monkeypatch, capsys):
    from miniapp.__main__ import main

    for var in ("READBACK_TOKEN", "READBACK_TOKEN_FILE"):
        monkeypatch.delenv(var, raising=False)
    assert main(["messaging"]) == 2
    assert "refusing to start" in capsys.readouterr().err


# -- reads from the site's own copy (READ_DATABASE_URL), writes to the primary -------------------
READS = [("login", "POST", "/login/login", {"username": "alice", "password": "12345678"}, False),
         ("login", "GET", "/login/me", None, True),
         ("messaging", "GET", "/messaging/rooms/r1/messages?after=0&limit=5", None, True),
         ("payment", "GET", "/payment/wallets/me", None, True),
         ("payment", "GET", "/payment/transfers?limit=5", None, True)]
WRITES = [("login", "POST", "/login/signup", {"username": "alice", "password": "a-good-password"}, False),
          ("messaging", "POST", "/messaging/rooms", {"room": "r1"}, True),
          ("messaging", "POST", "/messaging/rooms/r1/members", {"username": "bob"}, True),
          ("messaging", "POST", "/messaging/rooms/r1/messages", {"client_msg_id": "m1", "text": "hi"}, True),
          ("payment", "POST", "/payment/wallets", None, True),
          # the idempotency lookup is part of the write: it reads the primary, never a copy
          ("payment", "POST", "/payment/transfers", {"to_user": "bob", "amount": 5, "idempotency_key": "k"}, True)]


@pytest.mark.parametrize("service, method, path, body, auth", READS + WRITES,
                         ids=[f"{m} {p.split('?')[0]}" for _, m, p, _, _ in READS + WRITES])
def test_reads_go_to_the_sites_copy_and_everything_else_to_the_primary(service, method, path, body, auth):
    primary = FakeDb(error=DatabaseUnavailable("primary"))
    copy = FakeDb(error=DatabaseUnavailable("copy"))
    status, _, _ = call(app_for(service, primary, reads=copy), method, path, body,
                        bearer() if auth else None)
    assert status == 503
    is_read = (service, method, path, body, auth) in READS
    assert (copy.calls, primary.calls) == ((1, 0) if is_read else (0, 1))


def test_the_harness_reads_back_and_audits_on_the_primary_never_on_a_copy():
    primary, copy = FakeDb(result={"alice": 1}), FakeDb(error=AssertionError("read a copy"))
    status, _, body = call(app_for("login", primary, reads=copy), "POST", "/login/readback",
                           {"ids": ["alice"]}, {"x-readback-token": READBACK})
    assert (status, body, copy.calls) == (200, {"counts": {"alice": 1}}, 0)
    primary = FakeDb(result={"sum_all_accounts": 0})
    status, _, _ = call(app_for("payment", primary, reads=copy), "GET", "/payment/audit",
                        headers={"x-readback-token": READBACK})
    assert (status, primary.calls, copy.calls) == (200, 1, 0)


def test_the_wallet_answer_says_which_transfer_its_balance_includes_last():
    copy = FakeDb(result=("alice", 99_000, 42))
    status, _, body = call(app_for("payment", FakeDb(), reads=copy), "GET", "/payment/wallets/me",
                           headers=bearer())
    assert (status, body) == (200, {"username": "alice", "balance": 99_000, "last_transfer_id": 42})


def test_health_follows_where_the_service_reads():
    # The primary's site is dark: writes wait for a new primary, but the site's copy answers, so
    # the site stays in the entry point's rotation for logins and reads.
    primary, copy = FakeDb(), FakeDb()
    primary.ready = True
    primary.ping = lambda timeout_s=1.0: False
    status, _, body = call(app_for("login", primary, reads=copy), "GET", "/login/health")
    assert (status, body["status"]) == (200, "ok")
    copy.ready = False  # its ping fails: this site can serve nothing
    status, _, body = call(app_for("login", primary, reads=copy), "GET", "/login/health")
    assert (status, body["status"]) == (503, "database unavailable")
    # A schema never created yet (a new stack) is "starting", whatever the copy says.
    status, _, body = call(app_for("login", FakeDb(ready=False), reads=FakeDb()), "GET", "/login/health")
    assert (status, body["status"]) == (503, "starting")


def test_without_a_read_url_everything_uses_the_one_database(monkeypatch):
    monkeypatch.setenv("READBACK_TOKEN", READBACK)
    monkeypatch.setenv("TOKEN_PUBLIC_KEY_FILE", str(PUBLIC_FILE))
    monkeypatch.delenv("TOKEN_PRIVATE_KEY_FILE", raising=False)
    for value in (None, "", "  "):
        if value is None:
            monkeypatch.delenv("READ_DATABASE_URL", raising=False)
        else:
            monkeypatch.setenv("READ_DATABASE_URL", value)
        assert Settings.from_env("payment").read_database_url is None
    db = FakeDb()
    assert app_for("payment", db).state.ctx.reads is db
    monkeypatch.setenv("READ_DATABASE_URL", "postgresql://app:app@dbrouter:5001/mini")
    settings = Settings.from_env("payment")
    assert settings.read_database_url == "postgresql://app:app@dbrouter:5001/mini"
    reads = app_for("payment", db, read_database_url=settings.read_database_url).state.ctx.reads
    assert reads is not db and reads.read_only and reads.ready  # a Database of its own, never opened here
