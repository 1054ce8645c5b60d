"""A pass over a large table: flag updates in block ranges on two connections, deadlock victims retried."""

from __future__ import annotations

import threading

import psycopg
import pytest

from cognitionos_dagster.db.connection import Database, connect
from cognitionos_dagster.memory import lifecycle_steps
from cognitionos_dagster.memory.lifecycle import apply_policies
from cognitionos_dagster.memory.lifecycle_steps import pieces, scope_params
from cognitionos_dagster.memory.namespaces import NamespaceManager
from cognitionos_dagster.memory.store import MemoryStore


@pytest.fixture
def small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    """Split a table of a few dozen pages the way a pass splits a table of millions of rows."""
    monkeypatch.setattr(lifecycle_steps, "_SPLIT_MIN_PAGES", 2)
    monkeypatch.setattr(lifecycle_steps, "_PIECE_PAGES", 2)


def test_split_pass_changes_exactly_what_its_dry_run_predicted(
    db: Database, store: MemoryStore, namespaces: NamespaceManager, backdate, small_pieces: None
) -> None:
    for ns in ("alpha", "beta"):
        namespaces.create(ns, "alice", policy="standard")
        store.add_many(ns, "alice", [f"{ns} note {i}: " + "the run of a long project " * 4 for i in range(600)])
    rows = db.fetch_all("SELECT id::text AS id FROM memories ORDER BY id")
    ids = [r["id"] for r in rows]
    # Every fate spread over the whole table: expire, compress, archive, left alone.
    backdate(ids[0::4], 400)
    backdate(ids[1::4], 40)
    backdate(ids[2::4], 100)
    split = pieces(db, scope_params(None, db.fetch_one("SELECT now() AS t")["t"], None))
    assert len(split) > 3 and split[-1] is not None and split[-1][1] is None

    predicted = apply_policies(db, dry_run=True)
    report = apply_policies(db)
    for step in ("expire", "compress", "archive", "gc"):
        assert report.step(step).rows == predicted.step(step).rows > 0, step
        assert report.step(step).by_namespace == predicted.step(step).by_namespace, step
    assert report.step("archive").rows == 300 and report.step("archive").by_namespace == {"alpha": 150, "beta": 150}
    assert apply_policies(db, dry_run=True).changed == 0
    states = db.fetch_all("SELECT archived, compressed, count(*) AS n FROM memories GROUP BY 1, 2 ORDER BY 1, 2")
    assert [(r["archived"], r["compressed"], r["n"]) for r in states] == [
        (False, False, 300), (False, True, 300), (True, True, 300)]
    run = db.fetch_one("SELECT steps_done FROM memory_lifecycle_runs WHERE id = %s", (report.run_id,))
    assert sorted(run["steps_done"]) == ["archive", "compress", "expire", "gc"]


def test_one_namespace_pass_is_one_statement(db: Database, namespaces: NamespaceManager, small_pieces: None) -> None:
    namespaces.create("alpha", "alice", policy="standard")
    assert pieces(db, scope_params("alpha", db.fetch_one("SELECT now() AS t")["t"], None)) == [None]


def test_deadlock_victim_is_run_again(db: Database) -> None:
    """A real lock cycle: PostgreSQL rolls the retried statement back, and its second run succeeds."""
    db.execute("CREATE TABLE pair (k int PRIMARY KEY, v int)")
    db.execute("INSERT INTO pair VALUES (1, 0), (2, 0)")
    holding = threading.Barrier(2, timeout=10)
    calls: list[int] = []

    def other() -> None:
        with connect(db.url) as conn:
            conn.execute("SET deadlock_timeout = '20s'")  # so the statement under test is the victim
            conn.execute("UPDATE pair SET v = v + 1 WHERE k = 1")
            holding.wait()
            conn.execute("UPDATE pair SET v = v + 1 WHERE k = 2")

    def statement() -> int:  # through the pool, as the lifecycle's statements run
        calls.append(1)
        if len(calls) > 1:
            # Once the victim's locks are gone, its retry could take row 2 before the other
            # transaction wakes up and deadlock with it again (the code retries that too, but
            # then this test would count three runs). Let the other commit first.
            worker.join(timeout=30)
        with db.connection() as conn:
            conn.execute("SET LOCAL deadlock_timeout = '1s'")  # time for the other to start waiting
            conn.execute("UPDATE pair SET v = v + 10 WHERE k = 2")
            if len(calls) == 1:
                holding.wait()
            conn.execute("UPDATE pair SET v = v + 10 WHERE k = 1")
            return len(calls)

    worker = threading.Thread(target=other)
    worker.start()
    assert lifecycle_steps._retrying_deadlocks(statement) == 2
    worker.join()
    assert [r["v"] for r in db.fetch_all("SELECT v FROM pair ORDER BY k")] == [11, 11]


def test_deadlocks_that_persist_are_raised(db: Database) -> None:
    def always() -> None:
        raise psycopg.errors.DeadlockDetected("deadlock detected")

    with pytest.raises(psycopg.errors.DeadlockDetected):
        lifecycle_steps._retrying_deadlocks(always)
