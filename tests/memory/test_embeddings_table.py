"""Embeddings live in `memory_embeddings`, one row per memory (migration 0008 says why)."""

from __future__ import annotations

from cognitionos_dagster.db import migrate
from cognitionos_dagster.db.connection import Database, connect
from cognitionos_dagster.memory.namespaces import NamespaceManager
from cognitionos_dagster.memory.store import MemoryStore


def _count(db: Database, sql: str) -> int:
    return int(db.fetch_one(sql)["n"])


def test_every_stored_memory_has_one_embedding_and_dedupe_adds_none(
    store: MemoryStore, namespaces: NamespaceManager, db: Database
) -> None:
    namespaces.create("emb", "alice")
    first = store.store("emb", "alice", "the first memory")
    assert store.store("emb", "alice", "the first memory") == first  # a duplicate: no second vector
    result = store.add_many("emb", "alice", ["bulk one", "bulk two", "bulk one", "the first memory"])
    assert (result.inserted, result.duplicates) == (2, 2)
    assert _count(db, "SELECT count(*) AS n FROM memories") == 3
    assert _count(db, "SELECT count(*) AS n FROM memory_embeddings") == 3
    assert _count(db, "SELECT count(*) AS n FROM memories m LEFT JOIN memory_embeddings e ON e.memory_id = m.id "
                      "WHERE e.memory_id IS NULL OR e.namespace_id <> m.namespace_id") == 0


def test_deleting_memories_deletes_their_embeddings_in_one_statement(
    store: MemoryStore, namespaces: NamespaceManager, db: Database
) -> None:
    namespaces.create("gone", "alice")
    namespaces.create("kept", "alice")
    store.add_many("gone", "alice", [f"to delete {i}" for i in range(50)])
    store.add_many("kept", "alice", [f"to keep {i}" for i in range(5)])
    db.execute("DELETE FROM memories m USING memory_namespaces n WHERE n.id = m.namespace_id AND n.name = 'gone'")
    assert _count(db, "SELECT count(*) AS n FROM memory_embeddings") == 5
    assert len(store.search("kept", "alice", "to keep", k=10)) == 5
    namespaces_left = db.fetch_all("SELECT name FROM memory_namespaces ORDER BY name")
    assert [r["name"] for r in namespaces_left] == ["gone", "kept"]


def test_upgrade_moves_existing_vectors_and_downgrade_puts_them_back(empty_database_url: str) -> None:
    url = empty_database_url
    migrate.upgrade(url, "0007")
    with connect(url, autocommit=True) as conn:
        user = conn.execute("INSERT INTO users (username) VALUES ('ada') RETURNING id").fetchone()["id"]
        ns = conn.execute("INSERT INTO memory_namespaces (name, owner_user_id) VALUES ('old', %s) RETURNING id",
                          (user,)).fetchone()["id"]
        conn.execute(
            "INSERT INTO memories (namespace_id, owner_user_id, content, content_hash, embedding) "
            "SELECT %s, %s, 'memory ' || i, md5(i::text) || md5(i::text), "
            "array_fill(i::real, ARRAY[384])::vector FROM generate_series(1, 20) i",
            (ns, user),
        )
    migrate.upgrade(url)
    with connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT m.content, e.embedding::real[] AS v, e.namespace_id = m.namespace_id AS same_ns "
            "FROM memories m JOIN memory_embeddings e ON e.memory_id = m.id ORDER BY m.content"
        ).fetchall()
        fillfactor = conn.execute("SELECT reloptions FROM pg_class WHERE relname = 'memories'").fetchone()
    assert len(rows) == 20 and all(r["same_ns"] for r in rows)
    assert all(r["v"] == [float(r["content"].split()[1])] * 384 for r in rows)
    assert "fillfactor=50" in fillfactor["reloptions"]
    migrate.downgrade(url, "0007")
    with connect(url, autocommit=True) as conn:
        back = conn.execute("SELECT count(*) AS n FROM memories WHERE embedding = "
                            "array_fill(substr(content, 8)::real, ARRAY[384])::vector").fetchone()
        gone = conn.execute("SELECT to_regclass('memory_embeddings') AS t").fetchone()
    assert back["n"] == 20 and gone["t"] is None
