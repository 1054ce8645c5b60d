from __future__ import annotations

from cognitionos_dagster.db.connection import Database


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
