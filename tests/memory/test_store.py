from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
import psycopg
import pytest

from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.errors import MemoryStoreError
from cognitionos_dagster.llm.local_embedding import LocalEmbedder
from cognitionos_dagster.memory.access_stats import AccessStatsBuffer, write_reads
from cognitionos_dagster.memory.interface import MemoryProvider
from cognitionos_dagster.memory.models import MemoryItem, RerankWeights
from cognitionos_dagster.memory.namespaces import NamespaceManager
from cognitionos_dagster.memory.store import MemoryStore


@pytest.fixture
def ns(namespaces: NamespaceManager) -> str:
    namespaces.create("agent-notes", "alice")
    return "agent-notes"


def _row(db: Database, memory_id: str) -> dict:
    row = db.fetch_one("SELECT access_count, last_accessed_at, archived FROM memories WHERE id = %s", (memory_id,))
    assert row is not None
    return row


def test_is_a_memory_provider_and_finds_the_closest(store: MemoryStore, ns: str) -> None:
    assert isinstance(store, MemoryProvider)
    store.add_many(ns, "alice", ["the database migration needs a lock timeout", "bananas are yellow",
                                 "rollback the web deployment when health checks fail"])
    hits = store.retrieve(ns, "alice", "how do I roll back a failed deployment?", k=2)
    assert hits[0].content == "rollback the web deployment when health checks fail"
    assert hits[0].score >= hits[1].score and hits[0].similarity == hits[0].score


def test_a_hit_carries_the_stored_fields(store: MemoryStore, db: Database, ns: str) -> None:
    store.add_many(ns, "alice", [
        MemoryItem(content="the queue retries three times", importance=0.8,
                   metadata={"source": "runbook", "tags": ["queue", "retry"], "page": 3}),
        MemoryItem(content="the queue is named jobs", importance=0.2),
    ])
    hits = {h.content: h for h in store.search(ns, "alice", "the queue retries", k=2)}
    tagged, plain = hits["the queue retries three times"], hits["the queue is named jobs"]
    assert tagged.metadata == {"source": "runbook", "tags": ["queue", "retry"], "page": 3}
    assert plain.metadata == {}
    assert (tagged.importance, plain.importance) == pytest.approx((0.8, 0.2))
    stored = db.fetch_one("SELECT id::text AS id, created_at FROM memories WHERE importance > 0.5")
    assert (tagged.id, tagged.created_at) == (stored["id"], stored["created_at"])
    assert tagged.namespace == ns and not tagged.archived
    assert 0.0 < tagged.similarity <= 1.0 and tagged.score == tagged.similarity


def test_dedupe_keeps_one_row_and_counts_the_access(store: MemoryStore, db: Database, ns: str) -> None:
    first = store.store(ns, "alice", "deploys happen on Tuesdays")
    second = store.store(ns, "alice", "deploys happen on Tuesdays")
    result = store.add_many(ns, "alice", ["deploys happen on Tuesdays", "deploys happen on Tuesdays", "new one"])
    assert first == second
    assert (result.inserted, result.duplicates) == (1, 2)
    assert db.fetch_one("SELECT count(*) AS n FROM memories")["n"] == 2
    assert _row(db, first)["access_count"] == 3  # store again, and twice in the batch


def test_access_stats_are_batched_into_one_update(db: Database, ns: str) -> None:
    buffer = AccessStatsBuffer(db, max_pending=1_000, max_age_seconds=3600)
    store = MemoryStore(db, LocalEmbedder(384), access_stats=buffer)
    ids = [store.store(ns, "alice", f"fact number {i} about the cluster") for i in range(5)]
    for _ in range(4):
        store.search(ns, "alice", "fact about the cluster", k=5)
    assert {_row(db, i)["access_count"] for i in ids} == {0}  # nothing written on the hot path
    assert len(buffer) == 5 and buffer.flushes == 0
    store.close()
    assert buffer.flushes == 1
    assert {_row(db, i)["access_count"] for i in ids} == {4}
    assert all(_row(db, i)["last_accessed_at"] is not None for i in ids)


def test_buffer_flushes_when_full(db: Database, ns: str) -> None:
    buffer = AccessStatsBuffer(db, max_pending=3, max_age_seconds=3600)
    store = MemoryStore(db, LocalEmbedder(384), access_stats=buffer)
    store.add_many(ns, "alice", [f"note {i}" for i in range(4)])
    store.search(ns, "alice", "note", k=4)
    _until(lambda: buffer.flushes == 1)  # written by the buffer's thread, not by the search
    assert len(buffer) == 0
    assert db.fetch_one("SELECT sum(access_count) AS n FROM memories")["n"] == 4


def test_a_flush_looks_up_each_memory_by_key(db: Database, database_url: str, ns: str) -> None:
    """A flush's cost must follow the ids it writes, not the table's size: left to itself, the
    planner walks the whole primary key once to update a few thousand memories."""
    MemoryStore(db, LocalEmbedder(384)).add_many(ns, "alice", [f"runbook line {i}" for i in range(3_000)])
    ids = [r["id"] for r in db.fetch_all("SELECT id::text AS id FROM memories ORDER BY random() LIMIT 1500")]
    at = datetime.now(UTC)
    key_lookups = "SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = 'memories_pkey'"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_force_next_flush()")
        before = conn.execute(key_lookups).fetchone()[0]
        with conn.transaction():
            assert write_reads(conn, {i: (2, at) for i in ids}) == 1500
        conn.execute("SELECT pg_stat_force_next_flush()")
        after = conn.execute(key_lookups).fetchone()[0]
    assert after - before >= 1500  # one lookup per memory written (a merge join makes one in all)
    assert db.fetch_one("SELECT sum(access_count) AS n, count(last_accessed_at) AS read FROM memories") == {
        "n": 3000, "read": 1500}


def test_reads_are_written_after_max_age_without_another_read(db: Database, ns: str) -> None:
    buffer = AccessStatsBuffer(db, max_pending=1_000, max_age_seconds=0.2)
    store = MemoryStore(db, LocalEmbedder(384), access_stats=buffer)
    memory_id = store.store(ns, "alice", "the runbook lives in the wiki")
    store.search(ns, "alice", "where is the runbook", k=1)
    _until(lambda: _row(db, memory_id)["access_count"] == 1)
    assert buffer.flushes == 1
    store.close()


def test_a_process_that_never_closes_its_store_still_writes_its_reads(db: Database, ns: str) -> None:
    memory_id = MemoryStore(db, LocalEmbedder(384)).store(ns, "alice", "backups run at midnight")
    script = (
        "import sys\n"
        "from cognitionos_dagster.db.connection import Database\n"
        "from cognitionos_dagster.llm.local_embedding import LocalEmbedder\n"
        "from cognitionos_dagster.memory.store import MemoryStore\n"
        "store = MemoryStore(Database(sys.argv[1]), LocalEmbedder(384))\n"
        "for _ in range(3):\n"
        "    assert store.search('agent-notes', 'alice', 'when do backups run', k=1)\n"
    )
    subprocess.run([sys.executable, "-c", script, db.url], check=True, timeout=120)
    assert _row(db, memory_id)["access_count"] == 3


_FORKED = """
import multiprocessing, sys
from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.llm.local_embedding import LocalEmbedder
from cognitionos_dagster.memory.store import MemoryStore

def child(url):  # a fork-started child ends with os._exit: atexit handlers do not run
    store = MemoryStore(Database(url + "&application_name=forked-child"), LocalEmbedder(384))
    for _ in range(2):
        assert store.search("agent-notes", "alice", "when do backups run", k=1)

if __name__ == "__main__":
    store = MemoryStore(Database(sys.argv[1]), LocalEmbedder(384))
    assert store.search("agent-notes", "alice", "when do backups run", k=1)  # pending in the parent
    proc = multiprocessing.get_context("fork").Process(target=child, args=(sys.argv[1],))
    proc.start()
    proc.join()
    assert proc.exitcode == 0
    store.close()
"""


def test_reads_in_a_forked_child_are_written_once_and_the_parents_are_not_doubled(db: Database, ns: str) -> None:
    memory_id = MemoryStore(db, LocalEmbedder(384)).store(ns, "alice", "backups run at midnight")
    subprocess.run([sys.executable, "-c", _FORKED, db.url], check=True, timeout=120)
    assert _row(db, memory_id)["access_count"] == 3  # one read in the parent, two in the child


def _until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not written in time"
        time.sleep(0.05)


def test_filters_metadata_and_time_range(store: MemoryStore, db: Database, ns: str, backdate) -> None:
    store.add_many(ns, "alice", [
        MemoryItem(content="incident in eu-west cluster", metadata={"region": "eu", "kind": "incident"}),
        MemoryItem(content="incident in us-east cluster", metadata={"region": "us", "kind": "incident"}),
        MemoryItem(content="old incident in eu-central cluster", metadata={"region": "eu", "kind": "incident"}),
    ])
    old = db.fetch_one("SELECT id::text AS id FROM memories WHERE content LIKE 'old%'")["id"]
    backdate([old], 40)
    eu = store.search(ns, "alice", "incident cluster", k=10, filters={"region": "eu"})
    assert {h.content for h in eu} == {"incident in eu-west cluster", "old incident in eu-central cluster"}
    recent = store.search(ns, "alice", "incident cluster", k=10,
                          filters={"metadata": {"region": "eu"},
                                   "created_after": datetime.now(UTC) - timedelta(days=7)})
    assert [h.content for h in recent] == ["incident in eu-west cluster"]
    week_ago = datetime.now(UTC) - timedelta(days=7)
    before = store.search(ns, "alice", "incident", k=10, filters={"created_before": week_ago})
    assert [h.id for h in before] == [old]


def test_rerank_by_recency_and_importance(store: MemoryStore, db: Database, ns: str, backdate) -> None:
    store.add_many(ns, "alice", [
        MemoryItem(content="the cache layer uses redis with a ttl", importance=0.1),
        MemoryItem(content="the cache layer uses redis", importance=0.9),
    ])
    exact = db.fetch_one("SELECT id::text AS id FROM memories WHERE importance < 0.5")["id"]
    backdate([exact], 365)
    plain = store.search(ns, "alice", "the cache layer uses redis with a ttl", k=2)
    assert plain[0].id == exact
    reranked = store.search(ns, "alice", "the cache layer uses redis with a ttl", k=2,
                            rerank=RerankWeights(similarity=1.0, recency=1.0, importance=1.0, half_life_days=30))
    assert reranked[0].id != exact and reranked[0].score > reranked[1].score
    assert reranked[1].similarity > reranked[0].similarity  # it won on recency and importance, not similarity


def test_archived_and_expired_are_excluded_unless_asked(store: MemoryStore, db: Database, ns: str) -> None:
    store.add_many(ns, "alice", [
        "archived design decision about queues",
        MemoryItem(content="expired design decision about queues", expires_at=datetime.now(UTC) - timedelta(days=1)),
        "live design decision about queues",
    ])
    db.execute("UPDATE memories SET archived = true WHERE content LIKE 'archived%'")
    default = store.search(ns, "alice", "design decision queues", k=10)
    assert [h.content for h in default] == ["live design decision about queues"]
    everything = store.search(ns, "alice", "design decision queues", k=10, include_archived=True)
    assert {h.content for h in everything} == {"live design decision about queues",
                                              "archived design decision about queues"}
    assert [h.archived for h in everything if h.content.startswith("archived")] == [True]


def test_inspect_returns_decompressed_text(store: MemoryStore, db: Database, ns: str) -> None:
    memory_id = store.store(ns, "alice", "a memory that will be compressed ✓ " * 20, metadata={"k": 1})
    from cognitionos_dagster.memory.lifecycle import apply_policies

    apply_policies(db, namespace=ns, steps=["compress"], force_compress=True)
    record = store.inspect(memory_id, "alice")
    assert record.compressed and record.content == "a memory that will be compressed ✓ " * 20
    assert record.stored_bytes < record.content_bytes and record.embedding_dim == 384
    assert store.search(ns, "alice", "memory compressed", k=1)[0].content == record.content


def test_wrong_embedding_dimension_names_both(db: Database, ns: str) -> None:
    store = MemoryStore(db, LocalEmbedder(256))
    with pytest.raises(MemoryStoreError,
                       match=r"makes 256-dimensional vectors but memory_embeddings.embedding is vector\(384"):
        store.store(ns, "alice", "text")

    class Broken(LocalEmbedder):
        def embed(self, texts):
            return np.zeros((len(texts), 100), dtype=np.float32)

    with pytest.raises(MemoryStoreError, match=r"returned shape \(1, 100\), expected \(1, 384\)"):
        MemoryStore(db, Broken(384)).store(ns, "alice", "text")


def test_unknown_namespace_and_bad_ids(store: MemoryStore, ns: str) -> None:
    with pytest.raises(MemoryStoreError, match="unknown memory namespace 'nope'"):
        store.search("nope", "alice", "x")
    with pytest.raises(MemoryStoreError, match="not a memory id"):
        store.inspect("42", "alice")
    with pytest.raises(MemoryStoreError, match="no memory with id"):
        store.inspect("00000000-0000-0000-0000-000000000000", "alice")


def test_deferred_index_bulk_load_rebuilds_the_index(store: MemoryStore, db: Database, ns: str) -> None:
    from cognitionos_dagster.memory.index import index_present

    result = store.add_many(ns, "alice", [f"bulk memory {i} about topic {i % 7}" for i in range(300)],
                            defer_index=True)
    assert result.inserted == 300 and index_present(db) and store.last_index_build_seconds > 0
    assert store.search(ns, "alice", "bulk memory 17 about topic 3", k=1)[0].content == "bulk memory 17 about topic 3"


def test_new_memories_get_time_ordered_ids(store: MemoryStore, db: Database, ns: str) -> None:
    """Version 7 ids: ordered by when the memory was stored, so lifecycle writes by id stay local."""
    ids = []
    for i in range(3):
        ids.append(store.store(ns, "alice", f"memory number {i} in storage order"))
        time.sleep(0.003)  # ids order by millisecond; inside one they are random
    assert ids == sorted(ids)
    store.add_many(ns, "alice", [f"bulk memory {i}" for i in range(50)])
    rows = db.fetch_all("SELECT id, created_at FROM memories")
    assert len(rows) == 53 and len({r["id"] for r in rows}) == 53
    for r in rows:
        assert r["id"].version == 7 and r["id"].variant == uuid.RFC_4122
        stamped = datetime.fromtimestamp((r["id"].int >> 80) / 1000, UTC)
        assert abs(stamped - r["created_at"]) < timedelta(seconds=5)


def test_a_small_namespace_in_a_big_table_gets_its_exact_top_k(
    store: MemoryStore, namespaces: NamespaceManager, ns: str
) -> None:
    """The index scan walks the whole table's graph, so a small namespace may yield fewer than k
    rows from it: the store then runs the exact query (filter by namespace, then sort)."""
    namespaces.create("tiny", "alice")
    store.add_many(ns, "alice", [f"runbook step {i} for service {i % 40}" for i in range(3_000)])
    tiny = [f"tiny note {i} about deploy windows" for i in range(6)]
    store.add_many("tiny", "alice", tiny)
    query = "runbook step 7 for service 7"  # far from every tiny note: the index yields none of them
    vectors = store.embedder.embed(tiny)
    q = store.embedder.embed([query])[0]
    similarity = vectors @ q / (np.linalg.norm(vectors, axis=1) * np.linalg.norm(q))
    for k in (6, 3, 6):  # the same pooled session again: its cached plans must keep answering
        hits = store.search("tiny", "alice", query, k=k)
        assert len(hits) == k and set(tiny) >= {h.content for h in hits}
        assert [h.similarity for h in hits] == pytest.approx(sorted(similarity, reverse=True)[:k], abs=1e-5)
        assert all(h.similarity == pytest.approx(similarity[tiny.index(h.content)], abs=1e-5) for h in hits)
        assert {h.content for h in store.search(ns, "alice", query, k=6)}.isdisjoint(tiny)
