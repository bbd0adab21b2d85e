"""miniapp.db.Database without a database: which connections are checked before use, and how a
write is committed (one statement in autocommit, or a transaction) and what a failure says of it.

A connection that finished a transaction a moment ago, with no database error seen since, is handed
out as it is; any other one is checked (a round trip), and a broken one drains the pool.
"""

import contextlib
import sys
import time
from pathlib import Path

import pytest

for module in ("psycopg", "psycopg_pool"):
    pytest.importorskip(module)
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "stacks" / "mini-system" / "app"))

from miniapp import db as db_mod  # noqa: E402


class Conn:
    """Weak-referenceable like a psycopg connection; ``alive`` decides the check's outcome."""

    def __init__(self, alive=True):
        self.alive = alive


@pytest.fixture
def database(monkeypatch):
    database = db_mod.Database("postgresql://nobody@127.0.0.1:1/none")  # the pool is never opened
    checked, drained = [], []

    def check_connection(conn):
        checked.append(conn)
        if not conn.alive:
            raise OSError("connection lost")

    monkeypatch.setattr(db_mod.ConnectionPool, "check_connection", staticmethod(check_connection))
    monkeypatch.setattr(database.pool, "drain", lambda: drained.append(True))
    database.checked, database.drained = checked, drained
    return database


def test_a_connection_that_just_worked_is_not_checked_again(database):
    conn = Conn()
    database._worked_at[conn] = time.monotonic()
    database._check(conn)
    assert database.checked == []


def test_a_new_or_idle_connection_is_checked(database):
    new, idle = Conn(), Conn()
    database._worked_at[idle] = time.monotonic() - db_mod.RECHECK_AFTER_S - 0.1
    database._check(new)
    database._check(idle)
    assert database.checked == [new, idle] and database.drained == []


def test_after_a_database_error_every_connection_is_checked_and_a_dead_one_drains_the_pool(database):
    worked, dead = Conn(), Conn(alive=False)
    database._worked_at[worked] = time.monotonic()
    database._worked_at[dead] = time.monotonic()
    database._drain()  # what a failed transaction does
    assert database.drained == [True]
    database._check(worked)
    with pytest.raises(OSError):
        database._check(dead)
    assert database.checked == [worked, dead] and database.drained == [True, True]


# -- transactions: how a write is committed, and what a failure says about its outcome ----------
class TxConn:
    """A connection that records how Database.run used it; ``steps`` are what each call of the
    transaction's function does (an exception to raise, or a notice to deliver, else nothing)."""

    def __init__(self):
        self.autocommit, self.isolation_level = None, None
        self.commits, self.handlers, self.seen_autocommit = 0, [], []
        self.closed = False
        self.events: list[str] = []  # pipeline entered/left, commit, results read
        self.commit_error: BaseException | None = None  # what the COMMIT answers, once

    @contextlib.contextmanager
    def pipeline(self):
        self.events.append("pipeline")
        try:
            yield
        finally:
            self.events.append("synced")

    def add_notice_handler(self, h):
        self.handlers.append(h)

    def remove_notice_handler(self, h):
        self.handlers.remove(h)

    def notice(self, text):
        diag = type("Diag", (), {"message_primary": text})()
        for h in list(self.handlers):
            h(diag)

    def commit(self):
        self.commits += 1
        self.events.append("commit")
        error, self.commit_error = self.commit_error, None
        if error is not None:
            raise error

    def rollback(self):
        pass

    def close(self):
        self.closed = True


@pytest.fixture
def tx(monkeypatch):
    database = db_mod.Database("postgresql://nobody@127.0.0.1:1/none")
    database.ready = True
    conn = TxConn()
    monkeypatch.setattr(database.pool, "getconn", lambda *a, **k: conn)
    monkeypatch.setattr(database.pool, "putconn", lambda c: None)
    monkeypatch.setattr(database.pool, "drain", lambda: None)
    monkeypatch.setattr(db_mod, "backoff", lambda attempt: None)
    return database, conn


def statement(conn, steps):
    """The transaction's function: records the connection's mode, then plays the next step."""
    def fn(c):
        c.seen_autocommit.append(c.autocommit)
        step = steps.pop(0) if steps else None
        if isinstance(step, BaseException):
            raise step
        if isinstance(step, str):
            c.notice(step)
        return "row"
    return fn


def test_a_one_statement_write_runs_in_autocommit_without_a_commit_round_trip(tx):
    database, conn = tx
    assert database.run(statement(conn, []), write=True, one_statement=True) == "row"
    assert conn.seen_autocommit == [True] and conn.commits == 0


def test_a_write_of_several_statements_is_one_transaction_and_commits(tx):
    database, conn = tx
    assert database.run(statement(conn, []), write=True) == "row"
    assert conn.seen_autocommit == [False] and conn.commits == 1


def test_a_lost_connection_during_a_one_statement_write_leaves_its_outcome_unknown(tx):
    database, conn = tx
    with pytest.raises(db_mod.DatabaseUnavailable) as lost:
        database.run(statement(conn, [db_mod.psycopg.OperationalError("server closed the connection")]),
                     write=True, one_statement=True)
    assert lost.value.outcome_unknown and conn.closed


def test_a_lost_connection_before_commit_of_a_transaction_is_a_definite_failure(tx):
    database, conn = tx
    with pytest.raises(db_mod.DatabaseUnavailable) as lost:
        database.run(statement(conn, [db_mod.psycopg.OperationalError("server closed the connection")]),
                     write=True)
    assert not lost.value.outcome_unknown and conn.commits == 0


def test_a_one_statement_write_that_lost_a_unique_race_runs_again(tx):
    database, conn = tx
    steps = [db_mod.pgerr.UniqueViolation("duplicate key")]
    assert database.run(statement(conn, steps), write=True, one_statement=True, retries=2) == "row"
    assert conn.seen_autocommit == [True, True] and not conn.closed


def test_a_one_statement_write_not_confirmed_by_the_sync_standby_is_not_acknowledged(tx):
    database, conn = tx
    steps = ["canceling wait for synchronous replication due to user request"]
    with pytest.raises(db_mod.DatabaseUnavailable) as unsure:
        database.run(statement(conn, steps), write=True, one_statement=True)
    assert unsure.value.outcome_unknown and conn.handlers == []


def queued(conn, steps):
    """A pipelined transaction's function: plays the next step, returns the results' reader."""
    play = statement(conn, steps)

    def fn(c):
        row = play(c)

        def read():
            c.events.append("read")
            return row
        return read
    return fn


def test_a_pipelined_write_sends_begin_its_statements_and_commit_in_one_pipeline(tx):
    database, conn = tx
    assert database.run(queued(conn, []), write=True, serializable=True, pipelined=True) == "row"
    # The COMMIT is inside the pipeline (one round trip); the results are read after it.
    assert conn.events == ["pipeline", "commit", "synced", "read"]
    assert conn.seen_autocommit == [False]
    assert conn.isolation_level == db_mod.psycopg.IsolationLevel.SERIALIZABLE


def test_a_pipelined_write_whose_connection_is_lost_at_commit_has_an_unknown_outcome(tx):
    database, conn = tx
    conn.commit_error = db_mod.psycopg.OperationalError("server closed the connection")
    with pytest.raises(db_mod.DatabaseUnavailable) as lost:
        database.run(queued(conn, []), write=True, pipelined=True)
    assert lost.value.outcome_unknown and conn.closed and "read" not in conn.events


def test_a_pipelined_write_that_fails_while_queueing_is_a_definite_failure(tx):
    database, conn = tx
    with pytest.raises(db_mod.DatabaseUnavailable) as lost:
        database.run(queued(conn, [db_mod.psycopg.OperationalError("server closed the connection")]),
                     write=True, pipelined=True)
    assert not lost.value.outcome_unknown and conn.commits == 0


def test_a_serialization_failure_reported_at_a_pipelined_commit_is_a_conflict_nothing_written(tx):
    database, conn = tx
    conn.commit_error = db_mod.pgerr.SerializationFailure("could not serialize access")
    with pytest.raises(db_mod.Conflict) as conflict:
        database.run(queued(conn, []), write=True, serializable=True, pipelined=True)
    assert not conflict.value.outcome_unknown and not conn.closed
    # With a retry left, the transaction runs again and commits.
    conn.commit_error = db_mod.pgerr.SerializationFailure("could not serialize access")
    assert database.run(queued(conn, []), write=True, pipelined=True, retries=1) == "row"


@pytest.mark.parametrize("modes", [dict(write=True, one_statement=True, pipelined=True),
                                   dict(write=False, one_statement=True),
                                   dict(write=False, pipelined=True)])
def test_modes_that_contradict_each_other_are_refused_before_anything_is_sent(tx, modes):
    database, conn = tx
    with pytest.raises(ValueError, match="exclude each other"):
        database.run(queued(conn, []), **modes)
    assert conn.events == [] and conn.seen_autocommit == []


# -- a read-only Database: reads from a copy ------------------------------------------------------
def test_a_read_only_database_accepts_a_standby_and_the_primarys_refuses_one():
    primary = db_mod.Database("postgresql://nobody@127.0.0.1:1/none")
    copy = db_mod.Database("postgresql://nobody@127.0.0.1:1/none", read_only=True)
    assert primary.pool.kwargs["target_session_attrs"] == "read-write"
    assert copy.pool.kwargs["target_session_attrs"] == "any"
    assert (primary.ready, copy.ready) == (False, True)  # a copy creates no schema to wait for
    with pytest.raises(ValueError, match="no schema"):
        db_mod.Database("postgresql://nobody@127.0.0.1:1/none", read_only=True, schema=["CREATE TABLE t ()"])


def test_a_write_through_a_read_only_database_is_refused_before_anything_is_sent(monkeypatch):
    copy = db_mod.Database("postgresql://nobody@127.0.0.1:1/none", read_only=True)
    conn = TxConn()
    taken = []
    monkeypatch.setattr(copy.pool, "getconn", lambda *a, **k: taken.append(conn) or conn)
    monkeypatch.setattr(copy.pool, "putconn", lambda c: None)
    with pytest.raises(ValueError, match="read-only"):
        copy.run(statement(conn, []), write=True)
    assert taken == []
    assert copy.run(statement(conn, []), write=False) == "row" and conn.seen_autocommit == [True]
