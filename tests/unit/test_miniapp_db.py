"""miniapp.db.Database's pool check without a database: which connections are checked before use.

A connection that finished a transaction a moment ago, with no database error seen since, is handed
out as it is; any other one is checked (a round trip), and a broken one drains the pool.
"""

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
