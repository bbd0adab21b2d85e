"""messaging: rooms, their members and their messages.

* ``POST /messaging/rooms`` (Bearer) ``{room}`` -> 201 ``{room, created_by, ...}``; the creator is
  a member. 409 if the room exists (the primary key decides, so concurrent creates make one room).
* ``POST /messaging/rooms/{room}/join`` (Bearer) -> 200 ``{room, username, already_member}``;
  idempotent (joining twice is harmless). 404 if the room does not exist.
* ``POST /messaging/rooms/{room}/messages`` (Bearer, member) -> 201 ``{message_id, client_msg_id,
  seq, ...}`` once COMMIT returned. Idempotent: the same ``client_msg_id`` again (even
  concurrently) answers 200 with the message stored first; the unique constraint guarantees one
  row. 409 if that id was used for a different message (another room, sender or text): a client
  never gets someone else's message back.
* ``GET /messaging/rooms/{room}/messages?after=&limit=`` (Bearer, member) -> ``{messages,
  next_after}``.

Sending and reading need membership: 403 for a non-member, 404 for a room that does not exist.

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

from miniapp.models import ROOM_PATTERN, NewMessage, NewRoom
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


def _require_member(conn, room: str, username: str, client_msg_id: str | None = None) -> tuple | None:
    """404 if the room does not exist, 403 if ``username`` is not one of its members. With
    ``client_msg_id``, also (in the same round trip) the message stored under that id, or None."""
    params = {"room": room, "user": username, "id": client_msg_id}
    membership = ("SELECT EXISTS (SELECT 1 FROM room_members WHERE room = %(room)s AND username = %(user)s), "
                  "EXISTS (SELECT 1 FROM rooms WHERE room = %(room)s)")
    if client_msg_id is None:
        member, room_exists = conn.execute(membership, params).fetchone()
        stored = None
    else:
        member, room_exists, *row = conn.execute(
            f"{membership}, {_COLUMNS} FROM (SELECT) AS one LEFT JOIN messages ON client_msg_id = %(id)s",
            params).fetchone()
        stored = tuple(row) if row[0] is not None else None
    if not room_exists:
        raise ApiError(404, "no such room")
    if not member:
        raise ApiError(403, "not a member of this room")
    return stored


def routes(router: APIRouter, ctx: Context) -> None:
    db = ctx.db

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

    @router.post("/rooms/{room}/join", responses=errors(401, 404, 413, 422, 503))
    def join_room(room: Room, user: CurrentUser):
        """Join a room (idempotent). 404 if the room does not exist."""
        def join(conn):
            if conn.execute("SELECT 1 FROM rooms WHERE room = %s", (room,)).fetchone() is None:
                raise ApiError(404, "no such room")
            added = conn.execute("INSERT INTO room_members (room, username) VALUES (%s, %s) "
                                 "ON CONFLICT DO NOTHING RETURNING 1",
                                 (room, user.username)).fetchone()
            return added is None

        already = db.run(join, write=True, retries=2)
        return {"room": room, "username": user.username, "already_member": already}

    @router.post("/rooms/{room}/messages", status_code=201,
                 responses=errors(401, 403, 404, 409, 413, 422, 503))
    def send(room: Room, body: NewMessage, user: CurrentUser):
        """Send a message to a room you are a member of (idempotent by ``client_msg_id``)."""
        def existing(conn):
            return conn.execute(f"SELECT {_COLUMNS} FROM messages WHERE client_msg_id = %s",
                                (body.client_msg_id,)).fetchone()

        def insert(conn):
            # Four round trips in all (BEGIN, two statements, COMMIT): each one crosses the WAN
            # from the other site's apps. First, membership and a stored duplicate, together.
            if (stored := _require_member(conn, room, user.username, body.client_msg_id)) is not None:
                return stored, False
            # The UPDATE locks the room's counter row until COMMIT: seqs are handed out in commit
            # order. It runs even if the INSERT finds a duplicate (a data-modifying CTE always does).
            row = conn.execute(
                f"WITH next AS (UPDATE rooms SET last_seq = last_seq + 1 WHERE room = %(room)s "
                f"RETURNING last_seq) "
                f"INSERT INTO messages (room, seq, client_msg_id, sender, text) "
                f"SELECT %(room)s, last_seq, %(id)s, %(user)s, %(text)s FROM next "
                f"ON CONFLICT (client_msg_id) DO NOTHING RETURNING {_COLUMNS}",
                {"room": room, "id": body.client_msg_id, "user": user.username,
                 "text": body.text}).fetchone()
            if row is None:  # a concurrent duplicate committed first: undo our seq, return its row
                conn.rollback()
                return existing(conn), False
            return row, True

        row, created = db.run(insert, write=True)
        if not created and (row[1], row[4], row[5]) != (room, user.username, body.text):
            raise ApiError(409, "client_msg_id already used for a different message")
        return JSONResponse(_message(row), status_code=201 if created else 200)

    @router.get("/rooms/{room}/messages", responses=errors(401, 403, 404, 422, 503))
    def read(room: Room, user: CurrentUser, after: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
             limit: Annotated[int, Query(ge=1, le=200)] = 50):
        """A room's messages with ``seq > after``, oldest first (members only)."""
        def page(conn):
            _require_member(conn, room, user.username)
            return conn.execute(f"SELECT {_COLUMNS} FROM messages WHERE room = %s AND seq > %s "
                                "ORDER BY seq LIMIT %s", (room, after, limit)).fetchall()

        messages = [_message(r) for r in db.run(page, write=False)]
        # A JSONResponse is sent as it is; a returned dict would first be walked by FastAPI's
        # jsonable_encoder, a sixth of this service's CPU under load.
        return JSONResponse({"messages": messages,
                             "next_after": messages[-1]["seq"] if messages else after})
