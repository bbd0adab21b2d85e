"""PostgreSQL access that survives failovers.

The database is reached through HAProxy, which routes to the current primary; during an
experiment the primary dies and another one takes over. Guarantees:

* Bounded waits: connecting (``connect_timeout=2``), getting a pooled connection (1.5 s), running a
  statement (``statement_timeout=3000`` on the server) and, client-side, a whole transaction
  (:data:`TX_BUDGET_S`, enforced by :class:`~miniapp.watchdog.Watchdog` even if the network
  silently drops packets).
* No poisoned connections: a connection that saw an unexpected database error is closed (the pool
  replaces it) and the pool is drained (a failover breaks every connection at once); a pooled
  connection is checked before use unless it finished a transaction less than
  :data:`RECHECK_AFTER_S` ago with no database error seen since (the check is a round trip to the
  primary, across the WAN for the other site's apps: on every request it cost a fifth of a send's
  round trips). New connections must be read-write (a demoted primary is refused), so the request
  after a failover gets a fresh connection to the new primary.
* Honest outcomes: :class:`DatabaseUnavailable` says ``outcome_unknown`` when a write's COMMIT was
  sent but its answer was lost, or when the server committed locally but gave up waiting for the
  synchronous standby (its WARNING is caught), so the client is never told "ok" for a write that
  might not be durable, nor "failed" for one that might exist. A 2xx means COMMIT returned.
* Retries only where safe: serialization failures, deadlocks and unique violations are answered
  by the server with a rollback, so :meth:`Database.run` may run the whole transaction again.
* The schema is created in the background (``CREATE ... IF NOT EXISTS`` under an advisory lock),
  retried until the database answers; until then :attr:`Database.ready` is False.
* Reads from a copy (``read_only=True``): a second Database on ``READ_DATABASE_URL`` (dual-site:
  HAProxy's port 5001 at the app's own site, whose first choice is the local PostgreSQL when
  Patroni says it is the primary or the synchronous standby) serves the read-only endpoints. It
  accepts a standby (``target_session_attrs=any``), creates no schema, and refuses a write with
  ``ValueError`` before anything is sent: a write through it is a programming error.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import weakref
from typing import Callable, Sequence, TypeVar

import psycopg
from psycopg import errors as pgerr
from psycopg_pool import ConnectionPool, PoolTimeout

from miniapp.watchdog import Watchdog

log = logging.getLogger("miniapp.db")
T = TypeVar("T")

POOL_TIMEOUT_S = 1.5  # < the load generator's 2 s timeout: a definite 503 beats a timeout
TX_BUDGET_S = 5.0  # > statement_timeout, so the server normally gives up first
CHECK_BUDGET_S = 1.0
RECHECK_AFTER_S = 1.0  # a connection idle longer than this is checked before it is handed out
SCHEMA_LOCK_KEY = 7_262_021  # one advisory lock for every service sharing the database
RETRYABLE = (pgerr.SerializationFailure, pgerr.DeadlockDetected, pgerr.UniqueViolation)


class DatabaseUnavailable(Exception):
    """The database could not serve the request: answer 503 (``X-Write-Outcome: unknown`` if
    ``outcome_unknown``)."""

    def __init__(self, reason: str, outcome_unknown: bool = False):
        super().__init__(reason)
        self.outcome_unknown = outcome_unknown


class Conflict(DatabaseUnavailable):
    """The transaction kept losing against concurrent ones (serialization failure, deadlock,
    unique violation) and was rolled back every time: nothing was written."""


def backoff(attempt: int) -> None:
    """Sleep before retry ``attempt`` (0-based): full jitter, 10 ms doubling, at most 320 ms."""
    time.sleep(random.uniform(0, 0.01 * 2 ** min(attempt, 5)))


class _NotReplicated(Exception):
    """COMMIT returned, but the server warned that it stopped waiting for the sync standby."""


class Database:
    def __init__(self, url: str, *, name: str = "miniapp", max_size: int = 8,
                 schema: Sequence[str] = (), read_only: bool = False):
        if read_only and schema:
            raise ValueError("a read-only Database creates no schema (the primary's Database does)")
        self.schema = list(schema)
        self.read_only = read_only
        self.ready = read_only  # a copy has the primary's schema or, on a new stack, gets it soon
        self.watchdog = Watchdog()
        # When each pooled connection last finished a transaction that worked, and when a database
        # error was last seen (which drains the pool): a connection that worked after that, a
        # moment ago, is handed out without a check.
        self._worked_at: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._error_at = float("-inf")
        # min_size 4: connections are opened ahead of need. Across a slow WAN a new connection
        # takes about 6 round trips (TCP, SSL request, SCRAM, read-write check); at 400 ms RTT that
        # is past connect_timeout, so a pool that had to grow under a latency fault answered 503
        # (tests/integration/test_faults.py::test_latency_..., found in CI).
        self.pool = ConnectionPool(
            url, min_size=min(4, max_size), max_size=max_size, timeout=POOL_TIMEOUT_S, open=False, name=name,
            check=self._check,
            # Give up a reconnection attempt after 2 s instead of backing off for minutes: the
            # next request (health checks come every 500 ms) starts a new one, so a recovered
            # database is used within about a second.
            reconnect_timeout=2.0,
            kwargs={"connect_timeout": 2, "options": "-c statement_timeout=3000",
                    # A copy may be a standby; the primary's pool refuses one (a demoted primary).
                    "target_session_attrs": "any" if read_only else "read-write",
                    "application_name": name,
                    "keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2,
                    "keepalives_count": 2, "tcp_user_timeout": 5000})

    # -- life cycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Open the pool without waiting and create the schema in the background."""
        self.pool.open(wait=False)
        if not self.read_only:
            threading.Thread(target=self._create_schema, name="schema", daemon=True).start()

    def stop(self) -> None:
        self.pool.close(timeout=2.0)

    def _create_schema(self) -> None:
        failures = 0
        while not self.pool.closed:
            try:
                def create(conn: psycopg.Connection) -> None:
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_KEY,))
                    for statement in self.schema:
                        conn.execute(statement)
                self._run_once(create, write=True, isolation=None)
                self.ready = True
                log.info("schema ready")
                return
            except Exception as e:  # noqa: BLE001 - keep trying until the database answers
                failures += 1
                if failures in (1, 10) or failures % 60 == 0:
                    log.warning("schema not created yet (attempt %d): %s", failures, e)
                time.sleep(1.0)

    # -- connections --------------------------------------------------------------------------
    def _check(self, conn: psycopg.Connection) -> None:
        """Pool check before handing out a connection; a broken one drains the whole pool."""
        worked_at = self._worked_at.get(conn)
        if worked_at is not None and worked_at > self._error_at \
                and time.monotonic() - worked_at < RECHECK_AFTER_S:
            return
        try:
            with self.watchdog.guard(conn, CHECK_BUDGET_S):
                ConnectionPool.check_connection(conn)
        except Exception:
            self._drain()
            raise

    def _drain(self) -> None:
        self._error_at = time.monotonic()
        self.pool.drain()

    def ping(self, timeout_s: float = 1.0) -> bool:
        """True if ``SELECT 1`` through the pool answers within about ``timeout_s``."""
        try:
            conn = self.pool.getconn(timeout=timeout_s)
        except Exception:  # noqa: BLE001
            return False
        ok = False
        try:
            with self.watchdog.guard(conn, timeout_s):
                conn.execute("SELECT 1").fetchone()
                conn.rollback()
            ok = True
            self._worked_at[conn] = time.monotonic()
        except Exception:  # noqa: BLE001
            self._error_at = time.monotonic()
            self._discard(conn)
        finally:
            self.pool.putconn(conn)
        return ok

    def _discard(self, conn: psycopg.Connection) -> None:
        try:
            conn.close()
        except Exception:  # noqa: BLE001
            pass

    # -- transactions -----------------------------------------------------------------------
    def run(self, fn: Callable[[psycopg.Connection], T], *, write: bool,
            serializable: bool = False, retries: int = 0, one_statement: bool = False,
            pipelined: bool = False) -> T:
        """Run ``fn(conn)`` in one transaction and commit; return what ``fn`` returned.

        A read (``write=False``) runs in autocommit instead: no BEGIN and COMMIT, two round trips
        fewer (across the WAN for the other site's apps), but each statement sees its own
        snapshot, so a read whose figures must agree with each other is one statement (as
        payment's audit is).

        A write whose ``fn`` runs exactly one statement may say ``one_statement``: it runs in
        autocommit too, the statement being its own transaction (one round trip instead of
        three). Its outcome is unknown from the moment it is sent, as a COMMIT's would be.

        A write may say ``pipelined``: BEGIN, ``fn``'s statements and COMMIT go in one pipeline,
        one round trip whatever their number. ``fn`` then only queues statements and must not
        read their results: it returns a function that reads them, called after the COMMIT, whose
        answer ``run`` returns (it cannot undo anything: the transaction has committed). An error
        in any statement (a serialization failure included) may reach ``run`` only at the COMMIT,
        so once the COMMIT is queued the outcome is unknown unless the server's error says it
        rolled back, as for any COMMIT.

        ``fn`` may raise any non-database exception (an HTTP error): the transaction is rolled
        back and the exception propagates. Database errors become :class:`DatabaseUnavailable`,
        except the retryable ones, which run ``fn`` again up to ``retries`` times and then raise
        :class:`Conflict`.

        ``one_statement`` and ``pipelined`` exclude each other (the first has no BEGIN and COMMIT
        to pipeline), as do a read and either: asking for both is a programming error, refused
        with ``ValueError`` before anything is sent.
        """
        if one_statement and pipelined or not write and (one_statement or pipelined):
            raise ValueError("run: one_statement and pipelined are for writes, and exclude each other")
        if write and self.read_only:
            raise ValueError("run: a write through a read-only Database (reads from a copy)")
        if not self.ready:
            raise DatabaseUnavailable("schema not ready")
        isolation = psycopg.IsolationLevel.SERIALIZABLE if serializable else None
        for attempt in range(retries + 1):
            try:
                return self._run_once(fn, write=write, isolation=isolation,
                                      one_statement=one_statement, pipelined=pipelined)
            except RETRYABLE as e:
                if attempt >= retries:
                    raise Conflict(f"gave up after {attempt + 1} attempts: {e}") from e
                backoff(attempt)
        raise AssertionError("unreachable")

    def _run_once(self, fn: Callable[[psycopg.Connection], T], *, write: bool,
                  isolation: psycopg.IsolationLevel | None, one_statement: bool = False,
                  pipelined: bool = False) -> T:
        try:
            conn = self.pool.getconn()
        except (PoolTimeout, psycopg.Error) as e:
            raise DatabaseUnavailable(f"no database connection: {e}") from e
        single = write and one_statement
        committing = single  # a single statement in autocommit commits as it runs
        broken = False
        try:
            with self.watchdog.guard(conn, TX_BUDGET_S):
                try:
                    # Local settings (the connection is idle between transactions): psycopg puts
                    # the isolation level into the BEGIN it sends before a write's first statement.
                    conn.autocommit = not write or single
                    conn.isolation_level = isolation
                    if not write:
                        return fn(conn)
                    notices: list[str] = []

                    def handler(diag: psycopg.errors.Diagnostic) -> None:
                        notices.append(diag.message_primary or "")  # only valid during the call

                    conn.add_notice_handler(handler)
                    try:
                        if pipelined:
                            with conn.pipeline():
                                read = fn(conn)  # queued, maybe sent: nothing commits before COMMIT
                                committing = True
                                conn.commit()
                            result = read()
                        else:
                            result = fn(conn)
                            if not single:
                                committing = True
                                conn.commit()
                    finally:
                        conn.remove_notice_handler(handler)
                    if any("synchronous replication" in n for n in notices):
                        raise _NotReplicated("committed locally, sync standby not confirmed")
                    return result
                except RETRYABLE:
                    # The server answered with an error, so it rolled back (even at COMMIT).
                    broken = not _rollback(conn)
                    raise
                except (psycopg.Error, _NotReplicated) as e:
                    broken = True
                    unknown = write and committing and not _rolled_back_for_sure(e)
                    log.warning("database error (%s, committing=%s): %s",
                                type(e).__name__, committing, e)
                    raise DatabaseUnavailable(str(e), outcome_unknown=unknown) from e
                except BaseException:
                    # An application error (an HTTP 4xx): undo, keep the connection if it works.
                    broken = not _rollback(conn)
                    raise
        finally:
            if broken:
                self._discard(conn)
            else:
                self._worked_at[conn] = time.monotonic()
            self.pool.putconn(conn)
            if broken:
                self._drain()


def _rollback(conn: psycopg.Connection) -> bool:
    try:
        conn.rollback()
        return True
    except Exception:  # noqa: BLE001
        return False


def _rolled_back_for_sure(e: BaseException) -> bool:
    """True if the server answered COMMIT with an error of its own (so nothing was committed).

    A lost connection (no SQLSTATE, or one telling the session is being killed) leaves the
    outcome unknown; so does a commit that did not wait for the synchronous standby.
    """
    if isinstance(e, _NotReplicated):
        return False
    state = getattr(e, "sqlstate", None)
    return bool(state) and not state.startswith(("08", "57", "XX"))
