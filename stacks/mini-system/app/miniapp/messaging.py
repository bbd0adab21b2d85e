"""messaging: rooms, their members and their messages.

* ``POST /messaging/rooms`` (Bearer) ``{room}`` -> 201 ``{room, created_by, ...}``; the creator is
  a member. 409 if the room exists (the primary key decides, so concurrent creates make one room).
* ``POST /messaging/rooms/{room}/members`` (Bearer, member) ``{username}`` -> 201 ``{room,
  username, already_member: false}`` once COMMIT returned (the row names who invited), 200 with ``already_member:
  true`` if they were one (idempotent, even concurrently: the primary key decides). Rooms are
  joined only this way, by invitation of a member: 403 if the caller is not a member, 404 if the
  room does not exist. There is no open ``join``: a room's history is for its members. The
  invitee is any valid username (messaging does not hold the accounts).
* ``POST /messaging/rooms/{room}/messages`` (Bearer, member) -> 201 ``{message_id, client_msg_id,
  seq, ...}`` once COMMIT returned. Idempotent: the same ``client_msg_id`` again (even
  concurrently) answers 200 with the message stored first; the unique constraint guarantees one
  row. 409 if that id was used for a different message (another room, sender or text): a client
  never gets someone else's message back.
* ``GET /messaging/rooms/{room}/messages?after=&limit=`` (Bearer, member) -> ``{messages,
  next_after}``.

Reading a room is served from ``ctx.reads`` (the site's own database copy when the stack gives
one); creating, inviting and sending go to the primary.

Sending, reading and inviting need membership: 403 for a non-member, 404 for a room that does not
exist.

``seq`` numbers a room's messages 1, 2, 3... without gaps, in commit order: the room's counter row
is locked from the increment to COMMIT, so a reader paging with ``after`` never skips a message
that commits later with a smaller number.

Read-back ids: ``<client_msg_id>`` (messages), ``room/<room>`` (rooms), ``member/<room>/<username>``
(memberships). ``/`` is in none of client message ids, room names and usernames, so the three
never collide.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

from miniapp.models import ROOM_PATTERN, NewMember, NewMessage, NewRoom
from miniapp.web import ApiError, Context, CurrentUser, errors

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS rooms (
        room TEXT PRIMARY KEY,
        last_seq BIGINT NOT NULL)""",
    "ALTER TABLE rooms ADD COLUMN IF NOT EXISTS created_by TEXT",
    "ALTER TABLE rooms ADD COLUMN IF NOT EXISTS created_at TIMESTAMPTZ NOT NULL DEFAULT now()",
    """CREATE TABLE IF NOT EXISTS room_members (
        room TEXT NOT NULL REFERENCES rooms (room),
        username TEXT NOT NULL,
        joined_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (room, username))""",
    "ALTER TABLE room_members ADD COLUMN IF NOT EXISTS invited_by TEXT",
    """CREATE TABLE IF NOT EXISTS messages (
        id BIGSERIAL PRIMARY KEY,
        room TEXT NOT NULL,
        seq BIGINT NOT NULL,
        client_msg_id TEXT NOT NULL UNIQUE,
        sender TEXT NOT NULL,
        text TEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        UNIQUE (room, seq))""",
]

Room = Annotated[str, Path(min_length=1, max_length=64, pattern=ROOM_PATTERN)]
_COLUMNS = "id, room, seq, client_msg_id, sender, text, created_at"
_N_COLUMNS = _COLUMNS.count(",") + 1


def _message(row) -> dict:
    id_, room, seq, client_msg_id, sender, text, created_at = row
    return {"message_id": id_, "room": room, "seq": seq, "client_msg_id": client_msg_id,
            "sender": sender, "text": text, "created_at": created_at.isoformat()}


def readback(conn, ids: list[str]) -> dict[str, int]:
    """``<client_msg_id>``: messages with that id; ``room/<room>``: rooms of that name;
    ``member/<room>/<username>``: memberships."""
    rooms = [i[5:] for i in ids if i.startswith("room/")]
    members = [i[7:].partition("/") for i in ids if i.startswith("member/")]
    messages = [i for i in ids if "/" not in i]
    counts: dict[str, int] = {}
    for msg_id, n in conn.execute("SELECT client_msg_id, count(*) FROM messages "
                                  "WHERE client_msg_id = ANY(%s) GROUP BY client_msg_id",
                                  (messages,)):
        counts[msg_id] = n
    for room, n in conn.execute("SELECT room, count(*) FROM rooms WHERE room = ANY(%s) "
                                "GROUP BY room", (rooms,)):
        counts[f"room/{room}"] = n
    if members:
        for room, user, n in conn.execute(
                "SELECT m.room, m.username, count(*) FROM room_members m "
                "JOIN unnest(%s::text[], %s::text[]) AS q(room, username) "
                "ON m.room = q.room AND m.username = q.username GROUP BY m.room, m.username",
                ([r for r, _, _ in members], [u for _, _, u in members])):
            counts[f"member/{room}/{user}"] = n
    return counts


_MEMBERSHIP = ("SELECT EXISTS (SELECT 1 FROM room_members WHERE room = %(room)s AND username = %(user)s) "
               "AS is_member, EXISTS (SELECT 1 FROM rooms WHERE room = %(room)s) AS room_exists")

# Sending is one statement, so one round trip in autocommit (it crosses the WAN from the other
# site's apps): membership, a message already stored under the client's id, and, for a member
# without one, the room's next seq and the new message. The UPDATE locks the room's counter row
# until the statement commits, so seqs are handed out in commit order without gaps. A concurrent
# duplicate that commits first makes the INSERT fail on the unique id, rolling the whole statement
# back (the seq with it); the retry then finds the stored message.
_SEND = f"""WITH m AS ({_MEMBERSHIP}),
    stored AS (SELECT {_COLUMNS} FROM messages WHERE client_msg_id = %(id)s),
    next AS (UPDATE rooms SET last_seq = last_seq + 1
             WHERE room = %(room)s AND (SELECT is_member FROM m) AND NOT EXISTS (SELECT 1 FROM stored)
             RETURNING last_seq),
    added AS (INSERT INTO messages (room, seq, client_msg_id, sender, text)
              SELECT %(room)s, last_seq, %(id)s, %(user)s, %(text)s FROM next
              RETURNING {_COLUMNS})
SELECT m.is_member, m.room_exists, added.*, stored.*
FROM m LEFT JOIN added ON true LEFT JOIN stored ON true"""

# Inviting is one statement too: the inviter's membership and, for a member, the invitee's row
# (a duplicate, even a concurrent one, does nothing: the primary key decides).
_INVITE = f"""WITH m AS ({_MEMBERSHIP}),
    added AS (INSERT INTO room_members (room, username, invited_by)
              SELECT %(room)s, %(invitee)s, %(user)s WHERE (SELECT is_member FROM m)
              ON CONFLICT DO NOTHING RETURNING 1)
SELECT m.is_member, m.room_exists, EXISTS (SELECT 1 FROM added) FROM m"""

# A page of a room's messages with the membership it needs, in one statement: at least one row,
# whose first two columns say whether the room exists and the reader is a member; the messages
# (none for a non-member) fill the other columns.
_PAGE = f"""WITH m AS ({_MEMBERSHIP})
SELECT m.is_member, m.room_exists, page.* FROM m LEFT JOIN LATERAL (
    SELECT {_COLUMNS} FROM messages WHERE room = %(room)s AND seq > %(after)s AND m.is_member
    ORDER BY seq LIMIT %(limit)s) page ON true ORDER BY page.seq"""


def _require_member(is_member: bool, room_exists: bool) -> None:
    """404 if the room does not exist, 403 if the user is not one of its members."""
    if not room_exists:
        raise ApiError(404, "no such room")
    if not is_member:
        raise ApiError(403, "not a member of this room")


def routes(router: APIRouter, ctx: Context) -> None:
    db, reads = ctx.db, ctx.reads

    @router.post("/rooms", status_code=201, responses=errors(401, 409, 413, 422, 503))
    def create_room(body: NewRoom, user: CurrentUser):
        """Create a room; the creator becomes its first member. 409 if it exists."""
        def create(conn):
            row = conn.execute(
                "INSERT INTO rooms (room, last_seq, created_by) VALUES (%s, 0, %s) "
                "ON CONFLICT (room) DO NOTHING RETURNING room, created_by, created_at",
                (body.room, user.username)).fetchone()
            if row is None:
                raise ApiError(409, "room exists")
            conn.execute("INSERT INTO room_members (room, username) VALUES (%s, %s) "
                         "ON CONFLICT DO NOTHING", (body.room, user.username))
            return row

        room, created_by, created_at = db.run(create, write=True, retries=2)
        return {"room": room, "created_by": created_by, "created_at": created_at.isoformat(),
                "members": [created_by]}

    @router.post("/rooms/{room}/members", status_code=201,
                 responses=errors(401, 403, 404, 413, 422, 503))
    def invite(room: Room, body: NewMember, user: CurrentUser):
        """Make ``username`` a member of a room you are a member of (idempotent: 200 if they
        already were). The only way into a room but creating it."""
        is_member, room_exists, added = db.run(lambda conn: conn.execute(_INVITE, {
            "room": room, "user": user.username, "invitee": body.username}).fetchone(),
            write=True, one_statement=True, retries=2)
        _require_member(is_member, room_exists)
        return JSONResponse({"room": room, "username": body.username, "already_member": not added},
                            status_code=201 if added else 200)

    @router.post("/rooms/{room}/messages", status_code=201,
                 responses=errors(401, 403, 404, 409, 413, 422, 503))
    def send(room: Room, body: NewMessage, user: CurrentUser):
        """Send a message to a room you are a member of (idempotent by ``client_msg_id``)."""
        def insert(conn):
            is_member, room_exists, *rest = conn.execute(
                _SEND, {"room": room, "id": body.client_msg_id, "user": user.username,
                        "text": body.text}).fetchone()
            _require_member(is_member, room_exists)
            added, stored = tuple(rest[:_N_COLUMNS]), tuple(rest[_N_COLUMNS:])
            if added[0] is not None:
                return added, True
            if stored[0] is not None:
                return stored, False
            raise RuntimeError(f"send to {room!r}: no message stored and none added")  # a 500

        row, created = db.run(insert, write=True, one_statement=True, retries=2)
        if not created and (row[1], row[4], row[5]) != (room, user.username, body.text):
            raise ApiError(409, "client_msg_id already used for a different message")
        return JSONResponse(_message(row), status_code=201 if created else 200)

    @router.get("/rooms/{room}/messages", responses=errors(401, 403, 404, 422, 503))
    def read(room: Room, user: CurrentUser, after: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
             limit: Annotated[int, Query(ge=1, le=200)] = 50):
        """A room's messages with ``seq > after``, oldest first (members only)."""
        def page(conn):
            rows = conn.execute(_PAGE, {"room": room, "user": user.username, "after": after,
                                        "limit": limit}).fetchall()
            _require_member(*rows[0][:2])
            return [r[2:] for r in rows if r[2] is not None]

        messages = [_message(r) for r in reads.run(page, write=False)]
        # A JSONResponse is sent as it is; a returned dict would first be walked by FastAPI's
        # jsonable_encoder, a sixth of this service's CPU under load.
        return JSONResponse({"messages": messages,
                             "next_after": messages[-1]["seq"] if messages else after})
