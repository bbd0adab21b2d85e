"""Smoke test of a running mini-system: every endpoint once, plus concurrent idempotent writes.

    python stacks/mini-system/smoke.py http://127.0.0.1:18080
    python stacks/mini-system/smoke.py --login URL --messaging URL --payment URL   # one per service

Exits 0 if every expectation held, else 1 with the failed ones. Needs ``requests`` only. The
read-back token: ``CHAOS_READBACK_TOKEN``, else the stack's (``.cache/secrets/readback_token``). Creates
a few accounts with random names; safe to run against a stack under load.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

from readback import readback_token  # noqa: E402 - this folder (CHAOS_READBACK_TOKEN or the stack's file)


class Smoke:
    def __init__(self, urls: dict[str, str]):
        self.urls, self.failures, self.checks = urls, [], 0
        self.http = requests.Session()

    def call(self, svc: str, method: str, path: str, token: str | None = None, **kw):
        headers = kw.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.http.request(method, f"{self.urls[svc]}/{svc}{path}", headers=headers,
                                timeout=10, **kw)

    def expect(self, what: str, r: requests.Response, code: int, **fields):
        self.checks += 1
        try:
            body = r.json()
        except ValueError:
            body = None
        problems = []
        if r.status_code != code:
            problems.append(f"status {r.status_code} != {code}")
        if not r.headers.get("X-Site"):
            problems.append("no X-Site header")
        if not isinstance(body, dict):
            problems.append(f"not a JSON object: {r.text[:200]!r}")
        else:
            problems += [f"{k}={body.get(k)!r} != {v!r}" for k, v in fields.items() if body.get(k) != v]
        if problems:
            self.failures.append(f"{what}: {'; '.join(problems)} (body {r.text[:300]!r})")
        return body if isinstance(body, dict) else {}

    def account(self) -> tuple[str, str]:
        name, password = f"smoke-{uuid.uuid4().hex[:20]}", uuid.uuid4().hex
        self.expect("signup", self.call("login", "POST", "/signup",
                                        json={"username": name, "password": password}), 201,
                    username=name)
        token = self.expect("login", self.call("login", "POST", "/login",
                                               json={"username": name, "password": password}),
                            200).get("token")
        return name, token

    def run(self) -> None:
        for svc in ("login", "messaging", "payment"):
            self.expect(f"{svc} health", self.call(svc, "GET", "/health"), 200, status="ok")
            self.expect(f"{svc} openapi", self.call(svc, "GET", "/openapi.json"), 200, openapi="3.1.0")
        alice, ta = self.account()
        bob, tb = self.account()
        e = self.expect
        e("signup taken", self.call("login", "POST", "/signup",
                                    json={"username": alice, "password": "whatever123"}), 409)
        e("bad password", self.call("login", "POST", "/login",
                                    json={"username": alice, "password": "wrong-password"}), 401)
        e("signup short name", self.call("login", "POST", "/signup",
                                         json={"username": "a", "password": "whatever123"}), 422)
        e("me", self.call("login", "GET", "/me", ta), 200, username=alice)
        e("me no token", self.call("login", "GET", "/me"), 401)
        e("me tampered", self.call("login", "GET", "/me", ta[:-4] + "AAAA"), 401)
        e("413", self.call("login", "POST", "/signup", data=b"x" * 70000,
                           headers={"Content-Type": "application/json"}), 413)

        room, mid = f"smoke-{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
        carol, tc = self.account()  # never joins: the outsider
        e("room create", self.call("messaging", "POST", "/rooms", ta, json={"room": room}), 201,
          room=room, created_by=alice)
        e("room exists", self.call("messaging", "POST", "/rooms", tb, json={"room": room}), 409)
        e("room bad name", self.call("messaging", "POST", "/rooms", ta, json={"room": "a b"}), 422)
        e("room no token", self.call("messaging", "POST", "/rooms", json={"room": room}), 401)
        e("invite into unknown room", self.call("messaging", "POST",
                                                 f"/rooms/nope-{uuid.uuid4().hex[:8]}/members", ta,
                                                 json={"username": bob}), 404)
        e("send before invitation", self.call("messaging", "POST", f"/rooms/{room}/messages", tb,
                                              json={"client_msg_id": str(uuid.uuid4()), "text": "hi"}), 403)
        e("no open join", self.call("messaging", "POST", f"/rooms/{room}/join", tb), 404)
        e("a non-member invites itself", self.call("messaging", "POST", f"/rooms/{room}/members", tb,
                                                   json={"username": bob}), 403)
        e("invite", self.call("messaging", "POST", f"/rooms/{room}/members", ta,
                              json={"username": bob}), 201, room=room, username=bob,
          already_member=False)
        e("invite again", self.call("messaging", "POST", f"/rooms/{room}/members", tb,
                                    json={"username": bob}), 200, already_member=True)
        e("creator is a member", self.call("messaging", "POST", f"/rooms/{room}/members", tb,
                                           json={"username": alice}), 200, already_member=True)
        sent = e("send", self.call("messaging", "POST", f"/rooms/{room}/messages", ta,
                                   json={"client_msg_id": mid, "text": "hello"}), 201, seq=1)
        e("send again", self.call("messaging", "POST", f"/rooms/{room}/messages", ta,
                                  json={"client_msg_id": mid, "text": "hello"}), 200,
          message_id=sent.get("message_id"))
        e("send id reused", self.call("messaging", "POST", f"/rooms/{room}/messages", tb,
                                      json={"client_msg_id": mid, "text": "other"}), 409)
        ids = [str(uuid.uuid4()) for _ in range(5)]
        with ThreadPoolExecutor(20) as pool:  # 4 concurrent copies of each of 5 messages
            rs = list(pool.map(lambda i: self.call("messaging", "POST", f"/rooms/{room}/messages", tb,
                                                   json={"client_msg_id": i, "text": "x"}), ids * 4))
        self.checks += 1
        if sorted(r.status_code for r in rs) != [200] * 15 + [201] * 5:
            self.failures.append(f"concurrent sends: {sorted(r.status_code for r in rs)}")
        page = e("read", self.call("messaging", "GET", f"/rooms/{room}/messages?after=0&limit=200",
                                   tb), 200, next_after=6)
        self.checks += 1
        if [m["seq"] for m in page.get("messages", [])] != [1, 2, 3, 4, 5, 6]:
            self.failures.append(f"read: seqs {[m['seq'] for m in page.get('messages', [])]}")
        e("read non-member", self.call("messaging", "GET", f"/rooms/{room}/messages", tc), 403)
        e("invite by a non-member", self.call("messaging", "POST", f"/rooms/{room}/members", tc,
                                              json={"username": carol}), 403)
        e("send non-member", self.call("messaging", "POST", f"/rooms/{room}/messages", tc,
                                       json={"client_msg_id": str(uuid.uuid4()), "text": "x"}), 403)
        e("read no token", self.call("messaging", "GET", f"/rooms/{room}/messages"), 401)
        e("read bad room", self.call("messaging", "GET", "/rooms/bad%20room/messages", tb), 422)
        e("read bad limit", self.call("messaging", "GET", f"/rooms/{room}/messages?limit=0", tb), 422)

        e("wallet", self.call("payment", "POST", "/wallets", ta), 201, username=alice, balance=100000)
        e("wallet again", self.call("payment", "POST", "/wallets", ta), 200, balance=100000)
        with ThreadPoolExecutor(8) as pool:
            rs = list(pool.map(lambda _: self.call("payment", "POST", "/wallets", tb), range(8)))
        self.checks += 1
        if sorted(r.status_code for r in rs) != [200] * 7 + [201]:
            self.failures.append(f"concurrent wallets: {sorted(r.status_code for r in rs)}")
        key = str(uuid.uuid4())
        t = e("transfer", self.call("payment", "POST", "/transfers", ta,
                                    json={"to_user": bob, "amount": 250, "idempotency_key": key}),
              201, amount=250, to_user=bob, from_user=alice)
        e("transfer again", self.call("payment", "POST", "/transfers", ta,
                                      json={"to_user": bob, "amount": 250, "idempotency_key": key}),
          200, transfer_id=t.get("transfer_id"))
        e("transfer key reused", self.call("payment", "POST", "/transfers", ta,
                                           json={"to_user": bob, "amount": 7, "idempotency_key": key}),
          409)
        e("another payer's key is a new key", self.call("payment", "POST", "/transfers", tb, json={
            "to_user": alice, "amount": 3, "idempotency_key": key}), 201, from_user=bob, amount=3)
        keys = [str(uuid.uuid4()) for _ in range(5)]
        with ThreadPoolExecutor(20) as pool:  # 4 concurrent copies of each of 5 transfers
            rs = list(pool.map(lambda k: self.call("payment", "POST", "/transfers", ta, json={
                "to_user": bob, "amount": 10, "idempotency_key": k}), keys * 4))
        self.checks += 1
        if sorted(r.status_code for r in rs) != [200] * 15 + [201] * 5:
            self.failures.append(f"concurrent transfers: {[(r.status_code, r.text[:80]) for r in rs]}")
        e("balance", self.call("payment", "GET", "/wallets/me", ta), 200, balance=100000 - 250 - 50 + 3)
        e("overdraft", self.call("payment", "POST", "/transfers", ta, json={
            "to_user": bob, "amount": 10_000_000, "idempotency_key": str(uuid.uuid4())}), 409,
          error="insufficient funds")
        e("unknown recipient", self.call("payment", "POST", "/transfers", ta, json={
            "to_user": "nobody-" + uuid.uuid4().hex[:8], "amount": 1,
            "idempotency_key": str(uuid.uuid4())}), 404)
        e("string amount", self.call("payment", "POST", "/transfers", ta, json={
            "to_user": bob, "amount": "5", "idempotency_key": str(uuid.uuid4())}), 422)
        e("transfer from another's wallet", self.call("payment", "POST", "/transfers", tb, json={
            "from_user": alice, "to_user": bob, "amount": 5, "idempotency_key": str(uuid.uuid4())}),
          403)
        e("transfer from own wallet, explicitly", self.call("payment", "POST", "/transfers", tb, json={
            "from_user": bob, "to_user": alice, "amount": 5, "idempotency_key": str(uuid.uuid4())}),
          201, from_user=bob, to_user=alice, amount=5)
        e("transfer no token", self.call("payment", "POST", "/transfers", json={
            "to_user": bob, "amount": 5, "idempotency_key": str(uuid.uuid4())}), 401)
        listed = e("transfers", self.call("payment", "GET", "/transfers?limit=200", ta), 200)
        self.checks += 1
        if len([x for x in listed.get("transfers", []) if x["kind"] == "transfer"]) != 8:
            self.failures.append(f"transfers list: {listed}")

        rb = {"X-Readback-Token": readback_token()}
        e("readback login", self.call("login", "POST", "/readback", headers=rb,
                                      json={"ids": [alice, "nobody"]}), 200,
          counts={alice: 1, "nobody": 0})
        e("readback messaging", self.call("messaging", "POST", "/readback", headers=rb, json={
            "ids": ids[:2] + ["nope", f"room/{room}", f"member/{room}/{bob}", f"member/{room}/{carol}"]}),
          200, counts={ids[0]: 1, ids[1]: 1, "nope": 0, f"room/{room}": 1, f"member/{room}/{bob}": 1,
                       f"member/{room}/{carol}": 0})
        e("readback payment", self.call("payment", "POST", "/readback", headers=rb,
                                        json={"ids": [f"w:{bob}", f"t:{alice}/{key}", f"t:{bob}/{key}", f"t:{key}",
                                                 "t:nope", "x"]}), 200,
          counts={f"w:{bob}": 1, f"t:{alice}/{key}": 1, f"t:{bob}/{key}": 1, f"t:{key}": 0,
                  "t:nope": 0, "x": 0})
        e("readback no token", self.call("login", "POST", "/readback", json={"ids": []}), 403)
        e("audit", self.call("payment", "GET", "/audit", headers=rb), 200, sum_all_accounts=0,
          negative_wallets=0, duplicate_idempotency_keys=0, ledger_mismatch_accounts=0)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("base_url", nargs="?", default="http://127.0.0.1:18080")
    for svc in ("login", "messaging", "payment"):
        p.add_argument(f"--{svc}", help=f"base URL of {svc} (default: base_url)")
    a = p.parse_args()
    smoke = Smoke({s: (getattr(a, s) or a.base_url).rstrip("/") for s in ("login", "messaging", "payment")})
    smoke.run()
    for f in smoke.failures:
        print("FAIL", f)
    print(f"{smoke.checks - len(smoke.failures)} passed, {len(smoke.failures)} failed")
    return 1 if smoke.failures else 0


if __name__ == "__main__":
    sys.exit(main())
