"""login: accounts with argon2id-hashed passwords; issues Ed25519-signed tokens.

* ``POST /login/signup`` -> 201 ``{user_id, username}`` once COMMIT returned; 409 if the name is
  taken (the unique constraint decides, so concurrent signups of one name create one account);
  422 naming ``password`` if it is weak: under 8 characters, only whitespace, or fewer than 5
  different characters.
* ``POST /login/login`` -> 200 ``{token, expires_at}``; 401 on bad credentials (same answer and
  about the same time whether the user exists or not).
* ``GET /login/me`` (Bearer) -> ``{user_id, username}`` from the database.

Logging in writes nothing (no last-login time, no session row: a token is self-contained and
verified with the public key), so ``login`` and ``me`` are reads, served from the database copy
at the app's own site when the stack gives one (``READ_DATABASE_URL``): people log in while the
primary's site is dark and a new primary is not elected yet.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from miniapp import tokens
from miniapp.models import Credentials, NewAccount
from miniapp.web import ApiError, Context, CurrentUser, errors

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS users (
        id BIGSERIAL PRIMARY KEY,
        username TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now())""",
]

hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
_DUMMY_HASH = hasher.hash("not-a-real-password")  # verified against when the user is unknown


def readback(conn, ids: list[str]) -> dict[str, int]:
    rows = conn.execute("SELECT username, count(*) FROM users WHERE username = ANY(%s) "
                        "GROUP BY username", (ids,)).fetchall()
    return dict(rows)


def routes(router: APIRouter, ctx: Context) -> None:
    if ctx.private_key is None:
        raise RuntimeError("login needs TOKEN_PRIVATE_KEY_FILE (an Ed25519 PEM private key)")
    db, reads = ctx.db, ctx.reads

    @router.post("/signup", status_code=201, responses=errors(409, 413, 422, 503))
    def signup(body: NewAccount):
        password_hash = hasher.hash(body.password)  # CPU work before taking a connection

        def insert(conn):
            return conn.execute(
                "INSERT INTO users (username, password_hash) VALUES (%s, %s) "
                "ON CONFLICT (username) DO NOTHING RETURNING id",
                (body.username, password_hash)).fetchone()

        row = db.run(insert, write=True)
        if row is None:
            raise ApiError(409, "username taken")
        return {"user_id": row[0], "username": body.username}

    @router.post("/login", responses=errors(401, 413, 422, 503))
    def login(body: Credentials):
        row = reads.run(lambda conn: conn.execute(
            "SELECT id, password_hash FROM users WHERE username = %s", (body.username,)).fetchone(),
            write=False)
        try:
            hasher.verify(row[1] if row else _DUMMY_HASH, body.password)
            good = row is not None
        except (VerificationError, InvalidHashError):
            good = False
        if not good:
            raise ApiError(401, "bad username or password")
        token, exp = tokens.sign(ctx.private_key, row[0], body.username)
        return JSONResponse({"token": token, "expires_at": exp},
                            headers={"Cache-Control": "no-store"})

    @router.get("/me", responses=errors(401, 503))
    def me(claims: CurrentUser):
        row = reads.run(lambda conn: conn.execute(
            "SELECT id, username FROM users WHERE id = %s", (claims.user_id,)).fetchone(),
            write=False)
        if row is None:
            raise ApiError(401, "unknown user")
        return {"user_id": row[0], "username": row[1]}
