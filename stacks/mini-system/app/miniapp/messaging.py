"""messaging: rooms and their messages.

* ``POST /messaging/rooms/{room}/messages`` (Bearer) -> 201 ``{message_id, client_msg_id, seq,
  ...}`` once COMMIT returned. Idempotent: the same ``client_msg_id`` again (even concurrently)
  answers 200 with the message stored first; the unique constraint guarantees one row.
* ``GET /messaging/rooms/{room}/messages?after=&limit=`` (Bearer) -> ``{messages, next_after}``.

``seq`` numbers a room's messages 1, 2, 3... without gaps, in commit order: the room's counter row
is locked from the increment to COMMIT, so a reader paging with ``after`` never skips a message
that commits later with a smaller number.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse

from miniapp.models import ROOM_PATTERN, NewMessage
from miniapp.web import Context

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS rooms (
        room TEXT PRIMARY KEY,
        last_seq BIGINT NOT NULL)""",
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
    rows = conn.execute("SELECT client_msg_id, count(*) FROM messages WHERE client_msg_id = ANY(%s) "
                        "GROUP BY client_msg_id", (ids,)).fetchall()
    return dict(rows)


def routes(router: APIRouter, ctx: Context) -> None:
    db = ctx.db

    @router.post("/rooms/{room}/messages", status_code=201)
    def send(room: Room, body: NewMessage, request: Request):
        user = ctx.user(request)

        def existing(conn):
            return conn.execute(f"SELECT {_COLUMNS} FROM messages WHERE client_msg_id = %s",
                                (body.client_msg_id,)).fetchone()

        def insert(conn):
            if (row := existing(conn)) is not None:
                return row, False
            (seq,) = conn.execute(
                "INSERT INTO rooms (room, last_seq) VALUES (%s, 1) ON CONFLICT (room) "
                "DO UPDATE SET last_seq = rooms.last_seq + 1 RETURNING last_seq", (room,)).fetchone()
            row = conn.execute(
                f"INSERT INTO messages (room, seq, client_msg_id, sender, text) "
                f"VALUES (%s, %s, %s, %s, %s) ON CONFLICT (client_msg_id) DO NOTHING "
                f"RETURNING {_COLUMNS}",
                (room, seq, body.client_msg_id, user.username, body.text)).fetchone()
            if row is None:  # a concurrent duplicate committed first: undo our seq, return its row
                conn.rollback()
                return existing(conn), False
            return row, True

        row, created = db.run(insert, write=True)
        return JSONResponse(_message(row), status_code=201 if created else 200)

    @router.get("/rooms/{room}/messages")
    def read(room: Room, request: Request, after: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
             limit: Annotated[int, Query(ge=1, le=200)] = 50):
        ctx.user(request)
        rows = db.run(lambda conn: conn.execute(
            f"SELECT {_COLUMNS} FROM messages WHERE room = %s AND seq > %s ORDER BY seq LIMIT %s",
            (room, after, limit)).fetchall(), write=False)
        messages = [_message(r) for r in rows]
        return {"messages": messages, "next_after": messages[-1]["seq"] if messages else after}
