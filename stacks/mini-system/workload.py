"""Locust workload of the mini-system: people who sign up, log in, enter rooms, chat and pay each other.

Run by the harness on the host: ``locust -f stacks/mini-system/workload.py --host
http://127.0.0.1:18080`` (a global HAProxy routing /login, /messaging, /payment by prefix).

Every request goes through :func:`chaos.load.recorder.request`, which judges it and records it in
the run's history. Writes carry a ``write_id`` naming what they wrote, so the read-back can look
for it afterwards:

======================  =================================
login signup            ``<username>``
messaging create room   ``room/<room>`` (201, or 409: it exists either way)
messaging invite        ``member/<room>/<invitee>`` (a member makes the invitee one)
messaging send          ``<client_msg_id>``
payment open wallet     ``w:<username>``
payment transfer        ``t:<payer>/<idempotency_key>`` (keys are the payer's own)
======================  =================================

Rooms are joined only by invitation of a member. Each person wants :data:`ROOMS_PER_PERSON` rooms
of the small set :data:`ROOMS`, shared by the people of this process (named ``<room>-<ROOM_TAG>``,
one tag per process: a room made by another process or an earlier run has no member here to
invite anyone). A person enters a wanted room by creating it (201: the creator is its first
member); 409 (it exists) -> it waits in :data:`DIRECTORY` until a member of this process invites
it. Members invite the waiting people in their own send and read tasks, one invitation a task
(``POST /messaging/rooms/<room>/members {username}``), and the invitee is a member once that
answer was 2xx. An invitation whose answer was lost is sent again later, by any member, with the
same id (it writes the same row). A 409 when nobody here is known to be a member means an earlier
create whose answer was lost may have been this person's own: one read of the room tells
(200: it is the creator; 403: someone else's, so wait). A person sends to and reads only rooms it
is a member of (the service refuses others with 403). Until it has entered or asked for all its
rooms, its send and read tasks enter the next room instead.

Membership decides nothing after the run: the read-back counts every acknowledged message with
the stack's read-back token, as no member, so a failover that loses a person's token or a
membership cannot hide an acknowledged write.

An id is only ever used for ONE logical write: a write whose answer was not ok (a timeout, a
503, ...) is retried later with the same id and the same body (that is what idempotency is for),
never reused for different content. A person never loops inside one task: each task makes at most
a few requests; a setup step that failed is tried again by a later task.

Read-your-writes: every request names its person (``who``), and a read that must reflect the
person's own acknowledged writes says which (``expect``) and which it did (``seen``), for the
history's read-your-writes check:

======================  ==============================================================================
login                   expects the person's own signup (``<username>``) once that was acknowledged:
                        a token proves the account was read. A copy that had not applied it would
                        answer 401, recorded as a failed login (never accepted as an answer)
read a room             ``GET ...?after=<last seq read>&limit=50``: expects the person's acknowledged
                        messages in that room whose ``seq`` (from the send's answer) the page can show
                        (``after < seq <= after + 50``); seen: the page's ``client_msg_id``s. Messages
                        are numbered in commit order without gaps, so a page that stops short of
                        an expected one read a copy that had not applied it
balance                 expects the person's last acknowledged transfer (``t:<me>/<key>``); the wallet
                        answer's ``last_transfer_id`` (the newest transfer paid from it, read with the
                        balance in one statement) reflects it when it is at least the id that
                        transfer's answer gave. Ids only grow and a person pays one transfer at a
                        time, so reflecting the last one means reflecting every earlier one
======================  ==============================================================================

The "is this room mine?" read after a lost create expects nothing (the person is not known to be
a member).

Task weights: ``CHAOS_LOAD_MIX``, a JSON object overriding :data:`DEFAULT_MIX`, e.g.
``{"send": 3, "pay": 2}``; a weight of 0 disables a task.
"""

from __future__ import annotations

import json
import os
import random
import time
import uuid

from locust import FastHttpUser, between

from chaos.load.recorder import request

DEFAULT_MIX = {"signup_friend": 1, "login": 1, "send": 3, "read": 1, "pay": 2, "balance": 1}
ROOMS = ("lobby", "random", "ops", "dev", "music", "food")  # shared by this process's people
ROOM_TAG = uuid.uuid4().hex[:8]  # this process's rooms: <room>-<ROOM_TAG>
ROOMS_PER_PERSON = 3
MAX_ATTEMPTS = 4  # tries of one pending write before giving it up (its id is then never reused)
INVITE_EVERY_S = 1.0  # one invitation of a waiting person per this many seconds, whoever sends it
RELOGIN_AFTER_S = 1800  # tokens live 3600 s
READ_LIMIT = 50  # messages a room read asks for

# Accounts created by this process that have a wallet: the people one can pay.
KNOWN: list[str] = []


class Directory:
    """Who in this process is a member of which room (acknowledged), and who waits for an
    invitation. Gevent switches only on I/O, so plain dicts are safe between requests.

    A waiting person is handed to one inviter at a time, at most once per :data:`INVITE_EVERY_S`:
    while the database is down, the room's members would otherwise all retry the same invitation
    on every task, and the run would measure invitations instead of the usual mix."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.members: dict[str, list[str]] = {}  # room -> usernames, in the order they entered
        self.waiting: dict[str, dict[str, "Person"]] = {}  # room -> username -> person
        self.next_try: dict[tuple[str, str], float] = {}  # (room, username) -> not before

    def clear(self) -> None:
        self.members.clear()
        self.waiting.clear()
        self.next_try.clear()

    def has_member(self, room: str) -> bool:
        return bool(self.members.get(room))

    def wait(self, room: str, person: "Person") -> None:
        if person.username not in self.members.get(room, ()):
            self.waiting.setdefault(room, {})[person.username] = person

    def admit(self, room: str, person: "Person") -> None:
        """``person`` is a member of ``room`` (its create or an invitation was acknowledged)."""
        self.waiting.get(room, {}).pop(person.username, None)
        names = self.members.setdefault(room, [])
        if person.username not in names:
            names.append(person.username)
        person.entered(room)

    def invitation_for(self, member: "Person") -> tuple[str, "Person"] | None:
        """A (room, person) ``member`` should invite now: someone waiting for one of its rooms
        whom nobody invited in the last :data:`INVITE_EVERY_S`."""
        now = self.clock()
        for room in member.joined:
            for name, person in self.waiting.get(room, {}).items():
                if self.next_try.get((room, name), 0.0) <= now:
                    self.next_try[(room, name)] = now + INVITE_EVERY_S
                    return room, person
        return None


DIRECTORY = Directory()


def new_username(prefix: str = "u") -> str:
    """Unique across processes and runs (uuid4), within the login rules ([a-z0-9_-], <= 40)."""
    return f"{prefix}-{uuid.uuid4().hex}"


def new_key() -> str:
    return str(uuid.uuid4())


def load_mix(text: str | None = None) -> dict[str, int]:
    """DEFAULT_MIX overridden by ``CHAOS_LOAD_MIX`` (unknown names and bad weights raise)."""
    text = os.environ.get("CHAOS_LOAD_MIX", "") if text is None else text
    mix = dict(DEFAULT_MIX)
    if text.strip():
        override = json.loads(text)
        if not isinstance(override, dict):
            raise ValueError("CHAOS_LOAD_MIX must be a JSON object")
        for name, weight in override.items():
            if name not in DEFAULT_MIX:
                raise ValueError(f"CHAOS_LOAD_MIX: unknown task {name!r} (known: {sorted(DEFAULT_MIX)})")
            # Whole numbers only (Locust's task weights); 2.0 is 2: experiment files give numbers.
            if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0 \
                    or not float(weight).is_integer():
                raise ValueError(f"CHAOS_LOAD_MIX: weight of {name!r} must be a whole number >= 0, got {weight!r}")
            mix[name] = int(weight)
    if not any(mix.values()):
        raise ValueError("CHAOS_LOAD_MIX disables every task")
    return mix


class Pending:
    """One logical write not yet acknowledged: retried with the same id and body, a few times."""

    def __init__(self, path: str, write_id: str, body: dict | None, room: str | None = None):
        self.path, self.write_id, self.body, self.attempts = path, write_id, body, 0
        self.room = room  # a message's room


class Person:
    """The state of one simulated person, independent of Locust (so it can be tested)."""

    def __init__(self, now: float = 0.0):
        self.username = new_username()
        self.password = uuid.uuid4().hex
        self.signed_up = False
        self.signup_tries = 0
        self.token: str | None = None
        self.token_at = now
        self.has_wallet = False
        self.pending: dict[str, Pending] = {}  # op -> the write to retry ("send", "pay")
        self.wanted = [f"{r}-{ROOM_TAG}" for r in random.sample(ROOMS, ROOMS_PER_PERSON)]
        self.joined: list[str] = []  # rooms this person is a member of (acknowledged)
        self.exists: set[str] = set()  # wanted rooms seen to exist (create said 409): invite me
        self.after: dict[str, int] = {}  # room -> the last seq read
        # Read-your-writes: what this person's reads must reflect.
        self.signup_acked = False  # its own signup was answered 2xx: login must find the account
        self.unread: dict[str, dict[str, int]] = {}  # room -> {client_msg_id: seq}: acknowledged, not read yet
        self.last_transfer: tuple[str, int] | None = None  # (write id, transfer id) of the last acknowledged one

    def next_room(self) -> str | None:
        """The next wanted room to act on: not joined, and not known to exist while a member here
        will invite this person (None when there is nothing to do but wait)."""
        return next((r for r in self.wanted if r not in self.joined
                     and (r not in self.exists or not DIRECTORY.has_member(r))), None)

    def entered(self, room: str) -> None:
        if room not in self.joined:
            self.joined.append(room)
            self.after.setdefault(room, 0)

    def next_write(self, op: str, make) -> Pending | None:
        """The pending write of ``op`` if one is waiting for a retry, else a new one from make()
        (None if make() has nothing to write)."""
        p = self.pending.get(op)
        if p is None or p.attempts >= MAX_ATTEMPTS:
            p = make()
            if p is None:
                return None
            self.pending[op] = p
        p.attempts += 1
        return p

    def done(self, op: str, ok: bool) -> None:
        """After an attempt: an ok write is finished; a failed one stays pending (or is dropped
        after MAX_ATTEMPTS: its id is then retired, never reused)."""
        p = self.pending.get(op)
        if p is not None and (ok or p.attempts >= MAX_ATTEMPTS):
            del self.pending[op]

    def acknowledged(self, op: str, w: Pending, body) -> None:
        """A write of this person was answered 2xx with ``body``: remember what its reads must
        reflect (a message's seq, a transfer's id)."""
        body = body if isinstance(body, dict) else {}
        if op == "send" and w.room is not None and _is_int(body.get("seq")):
            self.unread.setdefault(w.room, {})[w.write_id] = body["seq"]
        elif op == "pay" and _is_int(body.get("transfer_id")):
            self.last_transfer = (w.write_id, body["transfer_id"])

    def expected_in_page(self, room: str, after: int, limit: int) -> list[str]:
        """This person's acknowledged messages in ``room`` that a page of ``limit`` after ``after``
        must show."""
        return [m for m, seq in self.unread.get(room, {}).items() if after < seq <= after + limit]

    def read_up_to(self, room: str, seq: int) -> None:
        """A read returned ``room``'s messages up to ``seq``: those are no longer expected."""
        self.after[room] = seq
        unread = self.unread.get(room, {})
        for m in [m for m, s in unread.items() if s <= seq]:
            del unread[m]

    def balance_expect(self) -> tuple[list[str], object]:
        """(expect, seen) for a balance read: the last acknowledged transfer, reflected when the
        wallet's ``last_transfer_id`` is at least its id."""
        if self.last_transfer is None:
            return [], None
        write_id, transfer_id = self.last_transfer

        def seen(response) -> list[str]:
            last = response.json()["last_transfer_id"]
            return [write_id] if _is_int(last) and last >= transfer_id else []
        return [write_id], seen

    def new_message(self) -> Pending | None:
        if not self.joined:
            return None
        room = random.choice(self.joined)
        msg_id = new_key()
        return Pending(f"/messaging/rooms/{room}/messages", msg_id,
                       {"client_msg_id": msg_id, "text": f"hello from {self.username} ({msg_id[:8]})"},
                       room=room)

    def new_payment(self) -> Pending | None:
        friends = [k for k in KNOWN if k != self.username]
        if not friends:
            return None
        key = new_key()
        return Pending("/payment/transfers", f"t:{self.username}/{key}",
                       {"to_user": random.choice(friends), "amount": random.randint(1, 100),
                        "idempotency_key": key})


MIX = load_mix()


class MiniSystemUser(FastHttpUser):
    connection_timeout = 2.0
    network_timeout = 2.0
    wait_time = between(0.2, 0.6)

    def on_start(self):
        self.person = Person(now=time.monotonic())

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.person.token}"}

    # -- setup: signup -> login -> wallet, one step per request, stopping at the first failure ---
    def _signup(self) -> bool:
        p = self.person
        p.signup_tries += 1
        r = request(self.client, "POST", "/login/signup", service="login", op="signup",
                    write_id=p.username, who=p.username,
                    json={"username": p.username, "password": p.password})
        if r is not None:
            p.signed_up = p.signup_acked = True
        elif p.signup_tries > 1:
            # A retry may get 409 because an earlier, unanswered try did create the account:
            # the login step tells (our password works). Otherwise start over with a new name.
            p.signed_up = self._login()
            if not p.signed_up and p.signup_tries >= MAX_ATTEMPTS:
                self.person = Person(now=time.monotonic())
        return p.signed_up

    def _login(self) -> bool:
        p = self.person
        r = request(self.client, "POST", "/login/login", service="login", op="login", who=p.username,
                    expect=[p.username] if p.signup_acked else (),
                    seen=lambda response: [p.username] if response.json().get("token") else [],
                    json={"username": p.username, "password": p.password})
        token = _field(r, "token")
        if token:
            p.token, p.token_at = token, time.monotonic()
        return bool(token)

    def _open_wallet(self) -> bool:
        p = self.person
        r = request(self.client, "POST", "/payment/wallets", service="payment", op="open_wallet",
                    write_id=f"w:{p.username}", who=p.username, headers=self._auth())
        if r is not None:
            p.has_wallet = True
            KNOWN.append(p.username)
        return p.has_wallet

    def ready(self) -> bool:
        """Make sure this person has an account, a fresh token and a wallet (at most 3 requests)."""
        p = self.person
        if not p.signed_up and not self._signup():
            return False
        if (p.token is None or time.monotonic() - p.token_at > RELOGIN_AFTER_S) and not self._login():
            return False
        return p.has_wallet or self._open_wallet()

    # -- tasks ----------------------------------------------------------------------------------
    def signup_friend(self):
        if self.ready():
            name = new_username("f")
            request(self.client, "POST", "/login/signup", service="login", op="signup",
                    write_id=name, who=self.person.username,
                    json={"username": name, "password": uuid.uuid4().hex})

    def login(self):
        if self.ready():
            self._login()

    def _enter_room(self, room: str) -> None:
        """Enter ``room`` (at most 2 requests): create it (201: a member); 409 -> wait for an
        invitation, unless nobody here is a member: then one read tells whether this person is
        (its own earlier create, whose answer was lost)."""
        p = self.person
        if room not in p.exists:
            r = request(self.client, "POST", "/messaging/rooms", service="messaging",
                        op="create_room", write_id=f"room/{room}", accept=(409,), who=p.username,
                        json={"room": room}, headers=self._auth())
            if r is None:
                return
            if r.status_code != 409:
                DIRECTORY.admit(room, p)  # created: the creator is a member
                return
            p.exists.add(room)
            DIRECTORY.wait(room, p)
            if DIRECTORY.has_member(room):
                return
        r = request(self.client, "GET", f"/messaging/rooms/{room}/messages?after=0&limit=1",
                    service="messaging", op="read", accept=(403,), who=p.username, headers=self._auth())
        if r is not None and r.status_code == 200:
            DIRECTORY.admit(room, p)

    def _invite(self) -> bool:
        """Invite one person waiting for a room this person is in (one request); False if none."""
        found = DIRECTORY.invitation_for(self.person)
        if found is None:
            return False
        room, invitee = found
        r = request(self.client, "POST", f"/messaging/rooms/{room}/members", service="messaging",
                    op="invite", write_id=f"member/{room}/{invitee.username}", who=self.person.username,
                    json={"username": invitee.username}, headers=self._auth())
        if r is not None:
            DIRECTORY.admit(room, invitee)
        return True

    def _in_rooms(self) -> bool:
        """Room chores first (one a task): enter the next room, or invite someone waiting.
        True if the person may go on to send or read (it is in a room and did no chore)."""
        room = self.person.next_room()
        if room is not None:
            self._enter_room(room)
            return False
        return not self._invite() and bool(self.person.joined)

    def send(self):
        if self.ready() and self._in_rooms():
            self._write("send", "messaging", self.person.new_message)

    def read(self):
        if self.ready() and self._in_rooms():
            p = self.person
            room = random.choice(p.joined)
            after, limit = p.after[room], READ_LIMIT
            r = request(self.client, "GET", f"/messaging/rooms/{room}/messages?after={after}&limit={limit}",
                        service="messaging", op="read", who=p.username,
                        expect=p.expected_in_page(room, after, limit), seen=_page_ids,
                        headers=self._auth())
            after = _field(r, "next_after")
            if _is_int(after):
                p.read_up_to(room, after)

    def pay(self):
        if self.ready():
            self._write("pay", "payment", self.person.new_payment)

    def balance(self):
        if self.ready():
            expect, seen = self.person.balance_expect()
            request(self.client, "GET", "/payment/wallets/me", service="payment", op="balance",
                    who=self.person.username, expect=expect, seen=seen, headers=self._auth())

    def _write(self, op: str, service: str, make) -> None:
        p = self.person
        w = p.next_write(op, make)
        if w is None:
            return  # nothing to write (nobody to pay yet)
        r = request(self.client, "POST", w.path, service=service, op=op, write_id=w.write_id,
                    who=p.username, json=w.body, headers=self._auth())
        if r is not None:
            p.acknowledged(op, w, _json(r))
        p.done(op, r is not None)

    tasks = {fn: MIX[fn.__name__] for fn in (signup_friend, login, send, read, pay, balance)
             if MIX[fn.__name__] > 0}


def _json(response):
    try:
        return response.json()
    except Exception:  # noqa: BLE001 - a 2xx that is not JSON: treat as no answer
        return None


def _field(response, name: str):
    if response is None:
        return None
    body = _json(response)
    return body.get(name) if isinstance(body, dict) else None


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _page_ids(response) -> list[str]:
    """The client message ids a room's page showed (raises on a malformed page: saw = null)."""
    return [m["client_msg_id"] for m in response.json()["messages"]]

