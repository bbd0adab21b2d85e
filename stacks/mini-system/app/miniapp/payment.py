"""payment: wallets in integer minor units, transfers with idempotency keys.

Money model: a double-entry ledger. Every movement is one ``transfers`` row and two balance
updates in the same transaction. A new wallet gets :data:`OPENING_CREDIT` from the single ``bank``
account, which starts at 0 and goes negative, so the sum over ALL accounts is always 0.

* ``POST /payment/wallets`` (Bearer) -> 201 the caller's new wallet, 200 the existing one.
  One wallet per username (unique constraint); concurrent opens create one.
* ``GET /payment/wallets/me`` (Bearer) -> ``{username, balance, last_transfer_id}``; 404 without a
  wallet. ``last_transfer_id``: the newest transfer paid from this wallet (null if none), read in
  the same statement as the balance, so a client can tell that the balance includes its own last
  acknowledged transfer (ids only grow, and a person pays one transfer at a time).
* ``POST /payment/transfers`` (Bearer) ``{from_user?, to_user, amount, idempotency_key}`` -> 201
  the new transfer; the same key again from the same payer (even concurrently) -> 200 with the
  transfer stored first, never a second one (unique on (payer, key); SERIALIZABLE transaction
  retried on conflicts); 409 insufficient funds with nothing changed (wallets never go negative:
  checked and enforced by a CHECK constraint); 404 unknown recipient; 409 if the payer used the
  key for a different transfer. Keys belong to their payer: another user's key is just a new key
  to me (never a 409, never their transfer). Only the
  owner of a wallet can pay from it: the payer is the token's owner, and ``from_user`` (optional,
  the wallet paid from) must name that owner, else 403 before anything is read or written.
* ``GET /payment/transfers?limit=`` (Bearer) -> the caller's ledger entries, newest first.
* ``GET /payment/audit`` (X-Readback-Token) -> the invariants, from one snapshot.

The wallet and the transfer list are read from ``ctx.reads`` (the site's own database copy when
the stack gives one); a transfer's idempotency lookup, part of the write, and the audit read the
primary.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from miniapp.db import Conflict, backoff
from miniapp.models import NewTransfer
from miniapp.web import ApiError, Context, CurrentUser, errors

OPENING_CREDIT = 100_000
RETRIES = 5

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS accounts (
        id BIGSERIAL PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('bank', 'wallet')),
        username TEXT UNIQUE,
        user_id BIGINT,
        balance BIGINT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        CHECK (kind = 'bank' OR (username IS NOT NULL AND balance >= 0)))""",
    "CREATE UNIQUE INDEX IF NOT EXISTS accounts_one_bank ON accounts (kind) WHERE kind = 'bank'",
    "INSERT INTO accounts (kind, balance) VALUES ('bank', 0) ON CONFLICT DO NOTHING",
    """CREATE TABLE IF NOT EXISTS transfers (
        id BIGSERIAL PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('credit', 'transfer')),
        idempotency_key TEXT,
        from_account BIGINT NOT NULL REFERENCES accounts (id),
        to_account BIGINT NOT NULL REFERENCES accounts (id),
        amount BIGINT NOT NULL CHECK (amount > 0),
        created_at TIMESTAMPTZ NOT NULL DEFAULT now())""",
    # An idempotency key is the payer's: unique per paying wallet, not across everyone (a database
    # made before keeps its rows; only the global constraint goes).
    "CREATE UNIQUE INDEX IF NOT EXISTS transfers_payer_key ON transfers (from_account, idempotency_key)",
    "ALTER TABLE transfers DROP CONSTRAINT IF EXISTS transfers_idempotency_key_key",
    "CREATE INDEX IF NOT EXISTS transfers_from ON transfers (from_account, id)",
    "CREATE INDEX IF NOT EXISTS transfers_to ON transfers (to_account, id)",
]

_TRANSFER = """SELECT t.id, t.kind, t.idempotency_key, coalesce(f.username, 'bank'),
                      coalesce(r.username, 'bank'), t.amount, t.created_at
               FROM transfers t JOIN accounts f ON f.id = t.from_account
                                JOIN accounts r ON r.id = t.to_account"""


# A transfer in one statement, so that BEGIN, it and COMMIT travel in one round trip (across the
# WAN for the other site's apps) instead of five. It locks both wallets (in id order: no deadlock),
# and moves the money and writes the ledger entry only if both exist and the payer has the funds;
# otherwise it writes nothing and its answer says which was missing. A data-modifying CTE runs to
# completion whether or not the query reads it. Under SERIALIZABLE a wallet changed since the
# snapshot fails the lock with a serialization failure (the caller retries), and the CHECK
# constraint still refuses a negative wallet.
_PAY = """
WITH w AS MATERIALIZED (
    SELECT id, username, balance FROM accounts
    WHERE kind = 'wallet' AND username IN (%(me)s, %(to)s) ORDER BY id FOR UPDATE),
ok AS MATERIALIZED (
    SELECT p.id AS payer, q.id AS payee FROM w p, w q
    WHERE p.username = %(me)s AND q.username = %(to)s AND p.balance >= %(amount)s),
moved AS (
    UPDATE accounts a SET balance = a.balance + CASE WHEN a.id = ok.payer
                                                     THEN -%(amount)s::bigint
                                                     ELSE %(amount)s::bigint END
    FROM ok WHERE a.id IN (ok.payer, ok.payee)),
made AS (
    INSERT INTO transfers (kind, idempotency_key, from_account, to_account, amount)
    SELECT 'transfer', %(key)s, payer, payee, %(amount)s FROM ok
    RETURNING id, created_at)
SELECT EXISTS (SELECT 1 FROM w WHERE username = %(me)s),
       EXISTS (SELECT 1 FROM w WHERE username = %(to)s),
       (SELECT id FROM made), (SELECT created_at FROM made)"""


def _transfer(row) -> dict:
    id_, kind, key, from_user, to_user, amount, created_at = row
    return {"transfer_id": id_, "kind": kind, "idempotency_key": key, "from_user": from_user,
            "to_user": to_user, "amount": amount, "created_at": created_at.isoformat()}


def readback(conn, ids: list[str]) -> dict[str, int]:
    """``w:<username>``: wallets of that user; ``t:<payer>/<key>``: transfers paid by ``payer``
    with that key (``/`` is in neither a username nor a key, so the id splits one way only)."""
    wallets = [i[2:] for i in ids if i.startswith("w:")]
    transfers = [i[2:].partition("/") for i in ids if i.startswith("t:") and "/" in i]
    counts: dict[str, int] = {}
    for name, n in conn.execute("SELECT username, count(*) FROM accounts WHERE kind = 'wallet' "
                                "AND username = ANY(%s) GROUP BY username", (wallets,)):
        counts[f"w:{name}"] = n
    if transfers:
        for payer, key, n in conn.execute(
                "SELECT a.username, t.idempotency_key, count(*) FROM transfers t "
                "JOIN accounts a ON a.id = t.from_account AND a.kind = 'wallet' "
                "JOIN unnest(%s::text[], %s::text[]) AS q(payer, key) "
                "ON a.username = q.payer AND t.idempotency_key = q.key "
                "GROUP BY a.username, t.idempotency_key",
                ([p for p, _, _ in transfers], [k for _, _, k in transfers])):
            counts[f"t:{payer}/{key}"] = n
    return counts


def audit(conn) -> dict:
    """One statement, so one snapshot: the figures are consistent with each other."""
    row = conn.execute("""
        SELECT (SELECT coalesce(sum(balance), 0) FROM accounts),
               (SELECT count(*) FROM accounts WHERE kind = 'wallet' AND balance < 0),
               (SELECT count(*) FROM (SELECT 1 FROM transfers WHERE idempotency_key IS NOT NULL
                                      GROUP BY from_account, idempotency_key
                                      HAVING count(*) > 1) d),
               (SELECT count(*) FROM accounts WHERE kind = 'wallet'),
               (SELECT count(*) FROM accounts a WHERE a.balance <>
                    coalesce((SELECT sum(amount) FROM transfers WHERE to_account = a.id), 0)
                  - coalesce((SELECT sum(amount) FROM transfers WHERE from_account = a.id), 0))
    """).fetchone()
    return {"sum_all_accounts": int(row[0]), "negative_wallets": row[1],
            "duplicate_idempotency_keys": row[2], "wallets": row[3],
            "ledger_mismatch_accounts": row[4]}


def routes(router: APIRouter, ctx: Context) -> None:
    db, reads = ctx.db, ctx.reads

    @router.post("/wallets", status_code=201, responses=errors(401, 503))
    def open_wallet(user: CurrentUser):
        """Open the caller's wallet (idempotent: 200 with the existing one)."""

        def create(conn):
            row = conn.execute("SELECT username, balance FROM accounts WHERE kind = 'wallet' "
                               "AND username = %s", (user.username,)).fetchone()
            if row is not None:
                return row, False
            (bank,) = conn.execute("UPDATE accounts SET balance = balance - %s "
                                   "WHERE kind = 'bank' RETURNING id", (OPENING_CREDIT,)).fetchone()
            wallet, name, balance = conn.execute(
                "INSERT INTO accounts (kind, username, user_id, balance) VALUES ('wallet', %s, %s, %s) "
                "RETURNING id, username, balance",
                (user.username, user.user_id, OPENING_CREDIT)).fetchone()
            conn.execute("INSERT INTO transfers (kind, from_account, to_account, amount) "
                         "VALUES ('credit', %s, %s, %s)", (bank, wallet, OPENING_CREDIT))
            return (name, balance), True

        # READ COMMITTED is enough here (the bank row is updated atomically, the unique username
        # stops a second wallet) and avoids serialization failures on the busy bank row.
        (name, balance), created = db.run(create, write=True, retries=RETRIES)
        return JSONResponse({"username": name, "balance": balance},
                            status_code=201 if created else 200)

    @router.get("/wallets/me", responses=errors(401, 404, 503))
    def my_wallet(user: CurrentUser):
        row = reads.run(lambda conn: conn.execute(
            "SELECT a.username, a.balance, (SELECT max(t.id) FROM transfers t WHERE t.from_account = a.id) "
            "FROM accounts a WHERE a.kind = 'wallet' AND a.username = %s",
            (user.username,)).fetchone(), write=False)
        if row is None:
            raise ApiError(404, "you have no wallet")
        return JSONResponse({"username": row[0], "balance": row[1],  # no jsonable_encoder pass
                             "last_transfer_id": row[2]})

    @router.post("/transfers", status_code=201,
                 responses=errors(401, 403, 404, 409, 413, 422, 503))
    def transfer(body: NewTransfer, user: CurrentUser):
        """Pay ``amount`` from your wallet to ``to_user`` (idempotent by ``idempotency_key``)."""
        if body.from_user is not None and body.from_user != user.username:
            raise ApiError(403, "you can only pay from your own wallet")
        if body.to_user == user.username:
            raise ApiError(422, "cannot pay yourself")

        def lookup(conn):  # the payer's own key only: another payer's is another transfer
            row = conn.execute(f"{_TRANSFER} WHERE t.idempotency_key = %s AND t.from_account = "
                               "(SELECT id FROM accounts WHERE kind = 'wallet' AND username = %s)",
                               (body.idempotency_key, user.username)).fetchone()
            return _transfer(row) if row else None

        def pay(conn):
            # Index scans only: a sequential scan (the planner's choice on a small table) takes a
            # predicate lock on the whole table, and every concurrent transfer would conflict.
            conn.execute("SET LOCAL enable_seqscan = off")
            cur = conn.execute(_PAY, {"me": user.username, "to": body.to_user,
                                      "amount": body.amount, "key": body.idempotency_key})
            return cur.fetchone

        def paid(row) -> JSONResponse:
            has_wallet, has_recipient, id_, created_at = row
            if not has_wallet:
                raise ApiError(404, "you have no wallet")
            if not has_recipient:
                raise ApiError(404, "unknown recipient")
            if id_ is None:
                raise ApiError(409, "insufficient funds")
            return JSONResponse(_transfer((id_, "transfer", body.idempotency_key, user.username,
                                           body.to_user, body.amount, created_at)), status_code=201)

        # The key is looked up outside the SERIALIZABLE transaction (a committed transfer is
        # final, READ COMMITTED sees it) so that reading the key index does not make unrelated
        # transfers conflict. If a concurrent duplicate commits between the lookup and our
        # INSERT, the unique (payer, key) makes our transaction fail and roll back; the next
        # round finds the stored transfer. So one payer's key never makes two transfers.
        for attempt in range(RETRIES + 1):
            found = db.run(lookup, write=False)
            if found is not None:
                if (found["from_user"], found["to_user"], found["amount"]) != (
                        user.username, body.to_user, body.amount):
                    raise ApiError(409, "idempotency key already used for a different transfer")
                return JSONResponse(found, status_code=200)
            try:
                return paid(db.run(pay, write=True, serializable=True, pipelined=True))
            except Conflict:
                if attempt >= RETRIES:
                    raise
                backoff(attempt)
        raise AssertionError("unreachable")

    @router.get("/transfers", responses=errors(401, 422, 503))
    def my_transfers(user: CurrentUser, limit: Annotated[int, Query(ge=1, le=200)] = 50):
        mine = "(SELECT id FROM accounts WHERE kind = 'wallet' AND username = %(me)s)"
        rows = reads.run(lambda conn: conn.execute(
            f"{_TRANSFER} WHERE t.from_account = {mine} OR t.to_account = {mine} "
            "ORDER BY t.id DESC LIMIT %(limit)s", {"me": user.username, "limit": limit}).fetchall(),
            write=False)
        return JSONResponse({"transfers": [_transfer(r) for r in rows]})

    @router.get("/audit", dependencies=[Depends(ctx.require_readback_token)],
                 responses=errors(403, 503))
    def audit_figures():
        return db.run(audit, write=False)
