"""stacks/mini-system/readback.py against a tiny fake of the services on 127.0.0.1."""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "stacks" / "mini-system"))

import readback  # noqa: E402

TOKEN = "a-token-made-for-this-test-0123456789"


class FakeServices:
    """Holds a few ids per service; can fail the next N requests with a status."""

    def __init__(self):
        self.held = {"login": {"alice": 1}, "messaging": {"m1": 1, "m2": 2},
                     "payment": {"w:alice": 1, "t:k1": 1}}
        self.requests: list[tuple[str, str, list | None, str | None]] = []
        self.fail_next: list[int] = []
        self.audit = {"sum_all_accounts": 0, "negative_wallets": 0,
                      "duplicate_idempotency_keys": 0, "wallets": 1}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, ids):
                fake.requests.append((self.command, self.path, ids, self.headers.get("X-Readback-Token")))
                if fake.fail_next:
                    return self._answer(fake.fail_next.pop(0), {"error": "nope"})
                if self.headers.get("X-Readback-Token") != TOKEN:
                    return self._answer(403, {"error": "bad token"})
                if self.path == "/payment/audit":
                    return self._answer(200, fake.audit)
                service = self.path.split("/")[1]
                held = fake.held.get(service, {})
                self._answer(200, {"counts": {i: held.get(i, 0) for i in ids}})

            def do_GET(self):
                self._handle(None)

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                self._handle(body["ids"])

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()


@pytest.fixture
def fake(monkeypatch, tmp_path):
    monkeypatch.delenv("CHAOS_READBACK_TOKEN", raising=False)
    (tmp_path / "readback_token").write_text(TOKEN + "\n")  # as scripts/make-secrets.sh writes it
    monkeypatch.setenv("CHAOS_SECRETS_DIR", str(tmp_path))
    monkeypatch.setattr(readback, "RETRY_PAUSE_S", 0.05)
    f = FakeServices()
    yield f
    f.server.shutdown()
    f.server.server_close()


def test_counts_per_service(fake):
    got = readback.read_back(fake.url, {"login": ["alice", "bob"], "messaging": ["m1", "m2", "m3"],
                                        "payment": ["w:alice", "t:k1", "t:k2"]})
    assert got == {"login": {"alice": 1, "bob": 0}, "messaging": {"m1": 1, "m2": 2, "m3": 0},
                   "payment": {"w:alice": 1, "t:k1": 1, "t:k2": 0}}
    assert {r[3] for r in fake.requests} == {TOKEN}


def test_the_token_comes_from_the_environment_or_the_stacks_secret_file_never_a_default(
        fake, monkeypatch, tmp_path):
    monkeypatch.setenv("CHAOS_READBACK_TOKEN", "from-the-environment-0123456789")
    assert readback.readback_token() == "from-the-environment-0123456789"
    monkeypatch.delenv("CHAOS_READBACK_TOKEN")
    assert readback.readback_token() == TOKEN
    monkeypatch.setenv("CHAOS_SECRETS_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(RuntimeError, match="no read-back token"):
        readback.readback_token()
    with pytest.raises(RuntimeError, match="no read-back token"):
        readback.read_back(fake.url, {"login": ["alice"]}, timeout_s=1)
    assert fake.requests == []  # nothing was sent with a made-up token


def test_batches_of_at_most_2000_deduplicated(fake):
    ids = [f"id{i}" for i in range(4500)] + ["id0", "id1"]
    got = readback.read_back(fake.url + "/", {"messaging": ids})
    sizes = [len(r[2]) for r in fake.requests]
    assert sizes == [2000, 2000, 500]
    assert sum(sizes) == len(got["messaging"]) == 4500
    assert fake.requests[0][1] == "/messaging/readback"


def test_no_ids_no_request(fake):
    assert readback.read_back(fake.url, {"login": []}) == {"login": {}}
    assert fake.requests == []


def test_retries_5xx_then_succeeds(fake):
    fake.fail_next = [503, 502, 500]
    assert readback.read_back(fake.url, {"login": ["alice"]}, timeout_s=10) == {"login": {"alice": 1}}
    assert len(fake.requests) == 4


def test_gives_up_after_timeout(fake):
    fake.fail_next = [503] * 1000
    with pytest.raises(RuntimeError, match="no answer within"):
        readback.read_back(fake.url, {"login": ["alice"]}, timeout_s=0.3)


def test_connection_refused_is_retried_then_fails(fake):
    fake.server.shutdown()
    fake.server.server_close()
    with pytest.raises(RuntimeError, match="ConnectionError"):
        readback.read_back(fake.url, {"login": ["alice"]}, timeout_s=0.2)


def test_wrong_token_fails_at_once(fake, monkeypatch):
    monkeypatch.setenv("CHAOS_READBACK_TOKEN", "wrong")
    with pytest.raises(RuntimeError, match="403"):
        readback.read_back(fake.url, {"login": ["alice"]}, timeout_s=30)
    assert len(fake.requests) == 1 and fake.requests[0][3] == "wrong"


def test_incomplete_answer_is_an_error(fake):
    handler = fake.server.RequestHandlerClass
    answer = handler._answer

    def drop_bob(self, status, body):
        body.get("counts", {}).pop("bob", None)
        return answer(self, status, body)

    handler._answer = drop_bob
    with pytest.raises(RuntimeError, match="lacks counts"):
        readback.read_back(fake.url, {"login": ["alice", "bob"]})


def test_audit(fake):
    fake.fail_next = [503]
    assert readback.audit(fake.url, timeout_s=5) == fake.audit


def test_invariants_are_figures_the_harness_judges(fake):
    from chaos.checks.invariants import invariant_checks, problems

    fake.audit = {"sum_all_accounts": 0, "negative_wallets": 0, "duplicate_idempotency_keys": 0,
                  "wallets": 40, "ledger_mismatch_accounts": 0}
    inv = readback.invariants(fake.url, timeout_s=5)
    assert problems(inv) == []
    assert inv["money_conserved"] == {"kind": "equals", "value": 0, "expected": 0,
                                      "detail": "the sum of every balance: the bank and 40 wallets"}
    assert inv["no_negative_wallet"]["of"] == 40 and inv["balances_match_ledger"]["of"] == 41
    assert {c.name: c.verdict.value for c in invariant_checks(inv)} == {
        "money_conserved": "pass", "no_negative_wallet": "pass", "idempotency_key_once": "pass",
        "balances_match_ledger": "pass"}
    # Money created, a key used twice, and a figure the audit did not give: each judged on its own.
    fake.audit = {"sum_all_accounts": 500, "negative_wallets": 0, "duplicate_idempotency_keys": 1, "wallets": 40}
    checks = {c.name: c for c in invariant_checks(readback.invariants(fake.url, timeout_s=5))}
    assert (checks["money_conserved"].verdict.value, checks["money_conserved"].figure) == ("fail", 500)
    assert (checks["idempotency_key_once"].verdict.value, checks["idempotency_key_once"].figure) == ("fail", 1)
    assert checks["balances_match_ledger"].verdict.value == "unknown"
    assert checks["no_negative_wallet"].verdict.value == "pass"
