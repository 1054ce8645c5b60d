from __future__ import annotations

import multiprocessing
from typing import Any

import pytest

from cognitionos_dagster.db.connection import Database, HeldConnection, connect
from cognitionos_dagster.errors import DatabaseError


def test_the_pool_hands_out_the_connection_returned_last(database_url: str) -> None:
    """One statement at a time should keep reusing one warm backend, not rotate through all."""
    db = Database(database_url)
    first, second, third = (db.pool.getconn() for _ in range(3))
    backend = {conn: conn.info.backend_pid for conn in (first, second, third)}
    for conn in (first, third, second):
        db.pool.putconn(conn)
    for _ in range(3):
        with db.connection() as conn:
            assert conn.info.backend_pid == backend[second]
            assert conn.execute("SELECT 1 AS one").fetchone() == {"one": 1}
    assert db.pool.get_stats()["pool_available"] == 3  # the others stay pooled, none was closed
    with db.connection() as a, db.connection() as b:  # concurrent use still takes the next ones
        assert {a.info.backend_pid, b.info.backend_pid} == {backend[second], backend[third]}


def test_a_held_connection_is_one_backend_that_a_busy_holder_never_waits_for(database_url: str) -> None:
    db = Database(database_url)
    held = HeldConnection(db)
    with held.use() as conn:
        pid = conn.info.backend_pid
        assert conn.autocommit and conn.execute("SELECT 1 AS one").fetchone() == {"one": 1}
        with held.use() as other:  # busy: a pooled connection, at once
            assert other.info.backend_pid != pid and other is not conn
    with held.use() as conn:
        assert conn.info.backend_pid == pid
    held.close()
    with connect(database_url, autocommit=True) as admin:
        gone = admin.execute("SELECT count(*) AS n FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
    assert gone == {"n": 0}


def test_a_held_connection_whose_backend_died_is_replaced_on_next_use(database_url: str) -> None:
    held = HeldConnection(Database(database_url))
    with held.use() as conn:
        pid = conn.info.backend_pid
    with connect(database_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(DatabaseError, match="cannot reach"), held.use() as conn:
        conn.execute("SELECT 1")
    with held.use() as conn:
        assert conn.info.backend_pid != pid and conn.execute("SELECT 1 AS one").fetchone() == {"one": 1}
    held.close()


def _search_in_child(held: HeldConnection, parent_pid: int, out: Any) -> None:
    with held.use() as conn:
        out.put((conn.info.backend_pid != parent_pid, conn.execute("SELECT 2 AS two").fetchone()["two"]))


def test_a_forked_child_opens_its_own_and_leaves_the_parents_working(database_url: str) -> None:
    """The inherited socket is the parent's: a child that used or closed it would break the parent."""
    held = HeldConnection(Database(database_url))
    with held.use() as conn:
        pid = conn.info.backend_pid
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    child = ctx.Process(target=_search_in_child, args=(held, pid, out))
    child.start()
    child.join(30)
    assert child.exitcode == 0 and out.get(timeout=5) == (True, 2)
    with held.use() as conn:
        assert conn.info.backend_pid == pid and conn.execute("SELECT 1 AS one").fetchone() == {"one": 1}
    held.close()
