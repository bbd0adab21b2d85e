"""stacks/mini-system/workload.py: the write-id scheme and the person's behaviour, against an
in-memory fake of the three services that randomly loses answers (no network, no Locust runner)."""

import itertools
import json
import os
import random
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

if "locust" not in sys.modules and "ssl" in sys.modules:
    # Locust's gevent monkey-patching after ssl was imported (by requests, earlier tests) recurses
    # forever. These tests use a fake client, so import Locust unpatched, leaving the env as it was.
    _saved = os.environ.get("LOCUST_SKIP_MONKEY_PATCH")
    os.environ["LOCUST_SKIP_MONKEY_PATCH"] = "1"
    try:
        pytest.importorskip("locust")
    finally:
        if _saved is None:
            del os.environ["LOCUST_SKIP_MONKEY_PATCH"]
        else:
            os.environ["LOCUST_SKIP_MONKEY_PATCH"] = _saved
pytest.importorskip("locust")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "stacks" / "mini-system"))

import workload  # noqa: E402
from chaos.history import iter_records, parse  # noqa: E402
from chaos.load import recorder  # noqa: E402


class FakeResponse:
    def __init__(self, status, body=None, error=None):
        self.status_code, self._body, self.error = status, body, error
        self.headers = {"X-Site": "pangyo"} if status else {}

    def json(self):
        return self._body

    def success(self):
        pass

    def failure(self, _text):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class FakeServices:
    """The three services in memory. ``lossy``: some requests time out (the write happening or
    not), some get 503; writes are idempotent like the real ones."""

    def __init__(self, rng, lossy=True):
        self.rng, self.lossy = rng, lossy
        self.stale = False  # reads miss the newest message of a room and the payer's newest transfer
        self.users, self.wallets, self.messages, self.transfers = {}, set(), {}, {}
        self.pages: dict[str, list[tuple[int, str]]] = defaultdict(list)  # room -> [(seq, client_msg_id)]
        self.transfer_ids: dict[tuple[str, str], int] = {}  # (payer, key) -> transfer id
        self.rooms: dict[str, set[str]] = {}  # room -> members
        self.sent = []  # (path, body, headers) of every request
        self.probes = []  # (room, who): membership reads by a non-member

    def request(self, method, path, name=None, catch_response=False, json=None, headers=None):
        assert catch_response and name
        self.sent.append((method, path, json, headers or {}))
        if self.lossy and self.rng.random() < 0.15:
            if self.rng.random() < 0.5:
                self._serve(method, path, json, headers or {})  # happened, answer lost
            return FakeResponse(0, error=TimeoutError("timed out"))
        if self.lossy and self.rng.random() < 0.1:
            return FakeResponse(503, {"error": "database unavailable"})
        return FakeResponse(*self._serve(method, path, json, headers or {}))

    def _serve(self, method, path, body, headers):
        who = headers.get("Authorization", "Bearer ").split(" ", 1)[1] or None
        if path == "/login/signup":
            if body["username"] in self.users:
                return 409, {"error": "username taken"}
            self.users[body["username"]] = body["password"]
            return 201, {"user_id": len(self.users), "username": body["username"]}
        if path == "/login/login":
            if self.users.get(body["username"]) != body["password"]:
                return 401, {"error": "bad username or password"}
            return 200, {"token": body["username"], "expires_at": 0}
        assert who in self.users, f"{path} without a valid token"
        if path == "/payment/wallets":
            new = who not in self.wallets
            self.wallets.add(who)
            return (201 if new else 200), {"username": who, "balance": 100000}
        if path == "/payment/wallets/me":
            mine = sorted(i for (payer, _), i in self.transfer_ids.items() if payer == who)
            mine = mine[:-1] if self.stale else mine
            return 200, {"username": who, "balance": 1, "last_transfer_id": mine[-1] if mine else None}
        if path == "/payment/transfers":
            assert body["to_user"] != who and body["to_user"] in self.wallets
            new = self.transfers.setdefault((who, body["idempotency_key"]), body) == body
            tid = self.transfer_ids.setdefault((who, body["idempotency_key"]), len(self.transfer_ids) + 1)
            return (201 if new else 200), {"transfer_id": tid}
        if path == "/messaging/rooms":
            if body["room"] in self.rooms:
                return 409, {"error": "room exists"}
            self.rooms[body["room"]] = {who}
            return 201, {"room": body["room"], "created_by": who}
        m = re.fullmatch(r"/messaging/rooms/([\w-]+)/members", path)
        if m:
            if m.group(1) not in self.rooms:
                return 404, {"error": "no such room"}
            if who not in self.rooms[m.group(1)]:
                return 403, {"error": "not a member of this room"}
            already = body["username"] in self.rooms[m.group(1)]
            self.rooms[m.group(1)].add(body["username"])
            return (200 if already else 201), {"room": m.group(1), "username": body["username"],
                                               "already_member": already}
        m = re.fullmatch(r"/messaging/rooms/([\w-]+)/messages(\?after=(\d+)&limit=(\d+))?", path)
        assert m, path
        if method == "GET" and m.group(4) == "1" and who not in self.rooms.get(m.group(1), ()):
            self.probes.append((m.group(1), who))
            return 403, {"error": "not a member of this room"}  # "is this room mine?"
        assert who in self.rooms.get(m.group(1), ()), f"{who} is not a member of {m.group(1)}"
        room, page = m.group(1), self.pages[m.group(1)]
        if method == "GET":
            after, limit = int(m.group(3)), int(m.group(4))
            shown = [(q, i) for q, i in (page[:-1] if self.stale else page) if q > after][:limit]
            return 200, {"messages": [{"seq": q, "client_msg_id": i} for q, i in shown],
                         "next_after": shown[-1][0] if shown else after}
        if body["client_msg_id"] not in self.messages:
            self.messages[body["client_msg_id"]] = body
            page.append((len(page) + 1, body["client_msg_id"]))
        return 201, {"seq": next(q for q, i in page if i == body["client_msg_id"])}


def _run(rng, fake, people=5, steps=400):
    workload.KNOWN.clear()
    workload.DIRECTORY.clear()
    ticks = itertools.count(0.0, 0.5)  # time passes as people act: lost invitations are retried
    workload.DIRECTORY.clock = lambda: next(ticks)
    users = []
    for _ in range(people):
        u = object.__new__(workload.MiniSystemUser)  # no Locust environment needed
        u.client = fake
        u.on_start()
        users.append(u)
    tasks = workload.MiniSystemUser.tasks
    for _ in range(steps):
        u = rng.choice(users)
        before = len(fake.sent)
        rng.choice(tasks)(u)
        assert len(fake.sent) - before <= 5, "a task must make only a few requests"
    return users


def test_write_ids_name_what_they_write_and_are_never_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAOS_HISTORY_DIR", str(tmp_path))
    monkeypatch.setattr(recorder, "_writer", None)
    rng = random.Random(7)
    random.seed(7)
    fake = FakeServices(rng)
    _run(rng, fake)
    recorder._writer.close()
    monkeypatch.setattr(recorder, "_writer", None)

    ops = parse(iter_records(tmp_path.glob("*.jsonl"))).ops
    assert len(ops) == len(fake.sent) > 300
    body_of = {}
    by_op = defaultdict(set)
    for op, (method, path, body, headers) in zip(ops, fake.sent):
        by_op[(op.service, op.op)].add(op.write_id is not None)
        if op.write_id is None:
            continue
        # the id names what was written ...
        if op.op == "signup":
            assert op.write_id == body["username"]
        elif op.op == "open_wallet":
            assert op.write_id == "w:" + headers["Authorization"].split(" ")[1]
        elif op.op == "send":
            assert op.write_id == body["client_msg_id"]
        elif op.op == "create_room":
            assert op.write_id == "room/" + body["room"]
        elif op.op == "invite":
            assert op.write_id == f"member/{path.split('/')[3]}/{body['username']}"
            assert body["username"] != headers["Authorization"].split(" ")[1]
        elif op.op == "pay":
            payer = headers["Authorization"].split(" ")[1]
            assert op.write_id == f"t:{payer}/{body['idempotency_key']}"
        # ... and one id is only ever sent with one body (a retry of the same write)
        key = (path, json.dumps(body, sort_keys=True))
        assert body_of.setdefault(op.write_id, key) == key, f"{op.write_id} reused for another write"
    assert by_op == {("login", "signup"): {True}, ("login", "login"): {False},
                     ("payment", "open_wallet"): {True}, ("payment", "pay"): {True},
                     ("payment", "balance"): {False}, ("messaging", "send"): {True},
                     ("messaging", "read"): {False}, ("messaging", "create_room"): {True},
                     ("messaging", "invite"): {True}}
    # lost answers were retried with the same id: some ids were sent more than once
    sent_ids = [o.write_id for o in ops if o.write_id]
    assert len(set(sent_ids)) < len(sent_ids)
    assert {o.outcome for o in ops} == {"ok", "fail", "unknown"}


def test_people_get_set_up_and_pay_only_others():
    rng = random.Random(3)
    random.seed(3)
    fake = FakeServices(rng, lossy=False)
    users = _run(rng, fake, people=4, steps=200)
    assert all(u.person.signed_up and u.person.token and u.person.has_wallet for u in users)
    assert sorted(workload.KNOWN) == sorted(u.person.username for u in users)
    assert len(fake.transfers) > 10 and len(fake.messages) > 20
    friends = set(fake.users) - set(workload.KNOWN)
    assert len(friends) > 5  # signup_friend made new accounts
    assert all(re.fullmatch(r"[a-z0-9_-]{3,40}", n) for n in fake.users)
    # Everyone entered its rooms (creating the first, invited by a member into the rest after a
    # 409) and chatted only there (the fake asserts membership on every send and read).
    for u in users:
        p = u.person
        assert sorted(p.joined) == sorted(p.wanted) and len(p.wanted) == workload.ROOMS_PER_PERSON
        assert all(p.username in fake.rooms[r] for r in p.joined)
    assert {r.rsplit("-", 1)[0] for r in fake.rooms} <= set(workload.ROOMS)
    assert {r.rsplit("-", 1)[1] for r in fake.rooms} == {workload.ROOM_TAG}
    creates = [path for _, path, _, _ in fake.sent if path == "/messaging/rooms"]
    invites = [path for _, path, _, _ in fake.sent if path.endswith("/members")]
    assert len(creates) == 3 * len(users) and len(invites) == 3 * len(users) - len(fake.rooms)
    assert fake.probes == []  # every create was answered: nobody had to ask whether it was theirs


def test_lost_answers_never_leave_a_person_outside_its_rooms_for_good():
    """Creates and invitations whose answers were lost (the room or membership may exist): once
    the losses stop, everyone gets into every room it wants, and sends only where it is a member."""
    rng = random.Random(9)
    random.seed(9)
    fake = FakeServices(rng)
    users = _run(rng, fake, people=6, steps=500)
    probes = [path for method, path, _, _ in fake.sent if method == "GET" and path.endswith("limit=1")]
    assert len(probes) > len(fake.probes) > 0  # "is this room mine?" answered both ways
    fake.lossy = False
    for _ in range(600):
        rng.choice(workload.MiniSystemUser.tasks)(rng.choice(users))
    for u in users:
        assert sorted(u.person.joined) == sorted(u.person.wanted), u.person.username
        assert all(u.person.username in fake.rooms[r] for r in u.person.joined)
    assert not any(workload.DIRECTORY.waiting.values())


def test_a_409_on_create_is_an_acknowledged_write_and_other_4xx_are_failures():
    assert recorder.classify(409, None, {}, is_write=True, accept=(409,)) == "ok"
    assert recorder.classify(409, None, {}, is_write=True) == "fail"
    assert recorder.classify(404, None, {}, is_write=True, accept=(409,)) == "fail"
    assert recorder.classify(503, None, {}, is_write=True, accept=(503,)) == "fail"  # never a 5xx


def test_usernames_are_unique():
    names = {workload.new_username() for _ in range(2000)}
    assert len(names) == 2000


def test_pending_write_is_retried_then_retired():
    p = workload.Person()
    made = []

    def make():
        made.append(workload.Pending("/x", f"id{len(made)}", {"n": len(made)}))
        return made[-1]

    first = p.next_write("send", make)
    for _ in range(workload.MAX_ATTEMPTS - 1):
        p.done("send", ok=False)
        assert p.next_write("send", make) is first
    p.done("send", ok=False)  # attempts exhausted: retired
    second = p.next_write("send", make)
    assert second is not first and second.write_id != first.write_id
    p.done("send", ok=True)
    assert p.next_write("send", make).write_id == "id2"
    assert p.next_write("pay", lambda: None) is None and "pay" not in p.pending


def test_load_mix():
    assert workload.load_mix("") == workload.DEFAULT_MIX
    assert workload.load_mix('{"send": 10, "pay": 0}') == {**workload.DEFAULT_MIX, "send": 10, "pay": 0}
    for bad in ('{"fly": 1}', '{"send": -1}', '{"send": 1.5}', "[1]", "{not json",
                json.dumps({k: 0 for k in workload.DEFAULT_MIX})):
        with pytest.raises(ValueError):
            workload.load_mix(bad)


def test_user_class_settings():
    u = workload.MiniSystemUser
    assert (u.connection_timeout, u.network_timeout) == (2.0, 2.0)
    assert 0.2 <= u.wait_time(None) <= 0.6


def test_an_experiment_files_mix_reaches_the_workload_as_whole_weights(tmp_path):
    """load.mix from a YAML file arrives as numbers (2.0): the workload must take them, not crash."""
    from chaos.load.locust_process import LocustProcess
    from chaos.loader import load_experiment

    exp = tmp_path / "mix.yaml"
    exp.write_text("name: mix\nstack: dual-site\nload: {users: 1, spawn_rate: 1, duration_s: 5,\n"
                   "  mix: {signup_friend: 0, login: 0, send: 4, read: 4, pay: 2, balance: 3}}\n")
    load = load_experiment(exp).load
    env = LocustProcess(Path("w.py"), "http://127.0.0.1:1", load, tmp_path, tmp_path / "l.log").env
    mix = workload.load_mix(env["CHAOS_LOAD_MIX"])
    assert mix == {"signup_friend": 0, "login": 0, "send": 4, "read": 4, "pay": 2, "balance": 3}
    assert all(type(w) is int for w in mix.values())


def test_an_outage_does_not_turn_the_room_chores_into_an_invitation_storm():
    """While every request fails, a waiting person is invited at most once per INVITE_EVERY_S,
    whoever the members are; the members go on with their usual sends in between."""
    rng = random.Random(5)
    random.seed(5)
    fake = FakeServices(rng, lossy=False)
    users = _run(rng, fake, people=6, steps=150)
    assert all(sorted(u.person.joined) == sorted(u.person.wanted) for u in users)
    latecomer = workload.Person()
    latecomer.wanted = list(users[0].person.joined[:1])
    room = latecomer.wanted[0]
    workload.DIRECTORY.wait(room, latecomer)
    now = [1000.0]
    workload.DIRECTORY.clock = lambda: now[0]
    try:
        real = fake._serve
        fake._serve = lambda *a: (503, {"error": "database unavailable"})  # the outage
        members = [u for u in users if room in u.person.joined]
        before = len(fake.sent)
        for _ in range(10):  # 10 seconds, every member sending 4 times a second
            for _ in range(4):
                for u in members:
                    u.send()
            now[0] += 1.0
        invites = [p for _, p, _, _ in fake.sent[before:] if p.endswith("/members")]
        assert len(invites) == 10, len(invites)
        assert len(fake.sent) - before == 40 * len(members)  # the rest were sends
        fake._serve = real  # power returns: the next invitation lets the latecomer in
        now[0] += 1.0
        members[0].send()
        assert latecomer.joined == [room] and not workload.DIRECTORY.waiting[room]
    finally:
        workload.DIRECTORY.clock = time.monotonic


def _history(tmp_path, monkeypatch, fake, rng, **kw):
    monkeypatch.setenv("CHAOS_HISTORY_DIR", str(tmp_path))
    monkeypatch.setattr(recorder, "_writer", None)
    users = _run(rng, fake, **kw)
    recorder._writer.close()
    monkeypatch.setattr(recorder, "_writer", None)
    return users, parse(iter_records(tmp_path.glob("*.jsonl"))).ops


def test_every_request_names_its_person_and_reads_expect_only_its_own_acknowledged_writes(tmp_path, monkeypatch):
    rng = random.Random(11)
    random.seed(11)
    fake = FakeServices(rng)
    users, ops = _history(tmp_path, monkeypatch, fake, rng, people=5, steps=600)
    people = {u.person.username for u in users}
    assert all(o.who in people for o in ops) and len(ops) == len(fake.sent)
    acked = {(o.who, o.write_id) for o in ops if o.write_id and o.ok}
    sends = {o.write_id: o.who for o in ops if o.op == "send"}
    expecting = [o for o in ops if o.expect]
    assert {o.op for o in expecting} == {"login", "read", "balance"}
    for o in expecting:
        assert not o.is_write
        # only the reader's own writes, each acknowledged BEFORE the read started
        assert all((o.who, i) in acked for i in o.expect), o
        assert all(sends.get(i, o.who) == o.who for i in o.expect)
        if o.ok:
            assert o.saw == o.expect  # the fake never serves stale data
        else:
            assert o.saw is None
    assert sum(len(o.expect) for o in expecting if o.op == "read") > 20
    assert sum(1 for o in expecting if o.op == "balance" and o.ok) > 5
    assert all(o.expect == (o.who,) for o in expecting if o.op == "login")


def test_a_read_that_misses_the_persons_own_acknowledged_write_is_recorded_as_stale(tmp_path, monkeypatch):
    rng = random.Random(12)
    random.seed(12)
    fake = FakeServices(rng, lossy=False)
    users = _run(rng, fake, people=4, steps=300)
    u = next(u for u in users if u.person.last_transfer and u.person.joined)
    p = u.person
    room = p.joined[0]
    p.wanted = p.joined = [room]  # no room chores: the read task reads this room
    p.pending.clear()
    monkeypatch.setenv("CHAOS_HISTORY_DIR", str(tmp_path))
    monkeypatch.setattr(recorder, "_writer", None)
    u.pay()  # acknowledged: its id is the wallet's newest
    u._write("send", "messaging", lambda: workload.Pending(
        f"/messaging/rooms/{room}/messages", "m-own", {"client_msg_id": "m-own", "text": "mine"}, room=room))
    fake.stale = True  # the copy has not applied the newest writes
    u.balance()
    u.read()
    fake.stale = False
    u.read()  # the same page again, from an up-to-date copy
    recorder._writer.close()
    monkeypatch.setattr(recorder, "_writer", None)
    ops = parse(iter_records(tmp_path.glob("*.jsonl"))).ops
    pay, send, balance, stale_read, fresh_read = ops
    assert pay.ok and send.ok and send.write_id == "m-own"
    assert (balance.expect, balance.saw) == ((pay.write_id,), ())
    assert "m-own" in stale_read.expect and "m-own" not in stale_read.saw
    assert "m-own" in fresh_read.expect and "m-own" in fresh_read.saw
    assert "m-own" not in p.unread.get(room, {})  # read: no longer expected
