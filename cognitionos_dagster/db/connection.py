"""Pooled psycopg 3 connections with pgvector types registered.

One pool per URL per process, created on first use: Dagster resources, the CLI and
the tests all go through `Database`, so there is one place that opens connections.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from cognitionos_dagster.db.urls import libpq_url, redact
from cognitionos_dagster.errors import DatabaseError

DictConnection = psycopg.Connection[dict[str, Any]]  # rows come back as dicts (`dict_row`)


class LastInFirstOutPool(ConnectionPool[DictConnection]):
    """Hands out the connection returned last.

    psycopg_pool queues idle connections first in, first out, so a process that works one
    statement at a time rotates through every connection it ever opened: each statement
    wakes a backend that has slept longest, on whichever vCPU, with its caches cold: memory
    searches were measurably slower that way than taking the last one returned (figures in
    docs/benchmarks.md, "Measurements behind the code"). Connections left at the far end stay
    idle until the pool's `max_idle` closes them, which already takes the oldest first.
    """

    def _get_ready_connection(self, timeout: float | None) -> DictConnection | None:
        if len(self._pool) > 1:
            self._pool.rotate(1)  # the newest to the front, where the pool takes from
        return super()._get_ready_connection(timeout)


_pools: dict[str, LastInFirstOutPool] = {}
_lock = threading.Lock()


def _configure(conn: psycopg.Connection[Any]) -> None:
    try:
        from pgvector.psycopg import register_vector

        register_vector(conn)
    except psycopg.ProgrammingError:
        # The extension is created by the first migration; before it, vectors are unused.
        pass
    conn.commit()


class Database:
    """A PostgreSQL database reached through a shared pool."""

    def __init__(self, url: str, *, max_size: int = 20) -> None:  # a foreach of 16 items plus the op itself
        self.url = libpq_url(url)
        self._max_size = max_size

    def __repr__(self) -> str:
        return f"Database({redact(self.url)!r})"

    @property
    def pool(self) -> LastInFirstOutPool:
        with _lock:
            pool = _pools.get(self.url)
            if pool is None:
                # A pool retries a refused connection for its whole timeout and then reports only
                # "couldn't get a connection"; one direct attempt fails at once with the reason.
                connect(self.url).close()
                pool = LastInFirstOutPool(
                    self.url,
                    min_size=0,
                    max_size=self._max_size,
                    configure=_configure,
                    kwargs={"row_factory": dict_row},
                    open=False,
                    name=f"cognitionos-{len(_pools)}",
                )
                try:
                    pool.open(wait=True, timeout=10)
                except psycopg.OperationalError as exc:
                    raise unreachable(self.url, exc) from exc
                except Exception as exc:
                    raise unreachable(self.url, exc) from exc
                _pools[self.url] = pool
            return pool

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[dict[str, Any]]]:
        """A connection in a transaction: committed on success, rolled back on error."""
        with _reported(self.url), self.pool.connection(timeout=30) as conn:
            yield conn

    @contextmanager
    def autocommit(self) -> Iterator[psycopg.Connection[dict[str, Any]]]:
        """A connection where each statement commits on its own: for work that is one statement (or
        statements that need no common transaction), psycopg's implicit BEGIN and the COMMIT would
        triple the round trips (figures in docs/benchmarks.md, "Measurements behind the code")."""
        with self.connection() as conn:
            conn.autocommit = True
            try:
                yield conn
            finally:
                conn.autocommit = False

    def fetch_all(self, sql: str, params: Any = None) -> list[dict[str, Any]]:
        with self.autocommit() as conn:
            return conn.execute(sql, params).fetchall()

    def fetch_one(self, sql: str, params: Any = None) -> dict[str, Any] | None:
        with self.autocommit() as conn:
            return conn.execute(sql, params).fetchone()

    def execute(self, sql: str, params: Any = None) -> int:
        with self.autocommit() as conn:
            return conn.execute(sql, params).rowcount


class HeldConnection:
    """An autocommit connection one owner keeps outside the pool, for its hot path.

    Checking a connection out of the pool and back, and switching it to autocommit and back, is a
    visible share of a memory search (docs/benchmarks.md, "Measurements behind the code"); a held
    connection takes a lock.
    One thread uses it at a time: a thread that finds it busy gets a pooled connection, so
    nobody waits for it. A connection an error left broken is replaced on the next use. A forked
    child opens its own: the inherited one shares its socket with the parent (psycopg leaves
    such a connection alone when it is collected, and so does `close`).
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[dict[str, Any]] | None = None
        self._pid = 0

    @contextmanager
    def use(self) -> Iterator[psycopg.Connection[dict[str, Any]]]:
        if not self._lock.acquire(blocking=False):
            with self._db.autocommit() as conn:
                yield conn
            return
        try:
            with _reported(self._db.url):
                yield self._ready()
        finally:
            self._lock.release()

    def _ready(self) -> psycopg.Connection[dict[str, Any]]:
        conn = self._conn
        if conn is not None and self._pid == os.getpid():
            if not (conn.closed or conn.broken):
                return conn
            conn.close()
        conn = self._conn = connect(self._db.url, autocommit=True)
        self._pid = os.getpid()
        _configure(conn)
        return conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None


@contextmanager
def _reported(url: str) -> Iterator[None]:
    """A lost connection becomes "cannot reach PostgreSQL"; any other error stays what it is.

    psycopg's OperationalError also covers a deadlock's victim, a cancelled query and a full
    disk; reported as unreachable they would send the user to check the URL, and a caller that
    retries a deadlock's victim would never see it.
    """
    try:
        yield
    except psycopg.OperationalError as exc:
        state = exc.sqlstate
        if state is None or state.startswith("08") or state in ("57P01", "57P02", "57P03"):
            raise unreachable(url, exc) from exc
        raise


def unreachable(url: str, exc: BaseException) -> DatabaseError:
    return DatabaseError(
        f"cannot reach PostgreSQL at {redact(url)}: {str(exc).strip().splitlines()[0] if str(exc) else exc}",
        hint="check COGNITIONOS_DATABASE_URL (host, port, user, password) or unset it to use the "
        "embedded server (`cognos db up`)",
    )


def close_all_pools() -> None:
    with _lock:
        for pool in _pools.values():
            pool.close()
        _pools.clear()


def connect(url: str, *, autocommit: bool = False) -> psycopg.Connection[dict[str, Any]]:
    """A single, unpooled connection (administration: CREATE DATABASE, checks)."""
    try:
        return psycopg.connect(libpq_url(url), autocommit=autocommit, row_factory=dict_row, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise unreachable(url, exc) from exc
