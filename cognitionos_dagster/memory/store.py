"""`MemoryStore`: agent memory in PostgreSQL + pgvector, implementing `MemoryProvider`.

Every read and write for a user runs in one transaction as the `cognitionos_app` role with
that user set (see `access`), so the database's row-level security decides what is
visible. Reads update access statistics through an in-process buffer (one UPDATE per
flush, not one per row per query); call `close()` (or use the store as a context manager)
to flush what is pending.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Sized
from itertools import islice
from typing import Any

import numpy as np
import psycopg
from psycopg.rows import tuple_row

from cognitionos_dagster.db.connection import Database, HeldConnection
from cognitionos_dagster.errors import MemoryStoreError
from cognitionos_dagster.llm.embeddings import Embedder
from cognitionos_dagster.memory import access, hybrid, index, reads, retrieval
from cognitionos_dagster.memory.access_stats import AccessStatsBuffer
from cognitionos_dagster.memory.compression import stored_text
from cognitionos_dagster.memory.ingest import copy_batch, insert_one
from cognitionos_dagster.memory.interface import MemoryEntry, MemoryHit, SearchHit
from cognitionos_dagster.memory.models import (
    AddResult,
    MemoryItem,
    MemoryRecord,
    NamespaceStats,
    RerankWeights,
    SearchFilters,
)
from cognitionos_dagster.memory.stats import namespace_stats

ItemLike = MemoryItem | str | dict[str, Any]

_INSPECT = """
SELECT m.id::text AS id, n.name AS namespace, m.content, m.content_compressed, m.summary, m.importance,
       m.access_count, m.last_accessed_at, m.created_at, m.expires_at, m.compressed, m.archived, m.metadata,
       coalesce(m.content_bytes, octet_length(m.content)) AS content_bytes,
       coalesce(octet_length(m.content), 0) + coalesce(octet_length(m.content_compressed), 0) AS stored_bytes,
       vector_dims(e.embedding) AS embedding_dim
FROM memories m JOIN memory_namespaces n ON n.id = m.namespace_id
LEFT JOIN memory_embeddings e ON e.memory_id = m.id
WHERE m.id = %s
"""


def _as_item(value: ItemLike) -> MemoryItem:
    if isinstance(value, MemoryItem):
        return value
    if isinstance(value, str):
        return MemoryItem(content=value)
    return MemoryItem.model_validate(value)


def _check_id(memory_id: str) -> None:
    try:
        uuid.UUID(memory_id)
    except ValueError:
        raise MemoryStoreError(f"not a memory id: {memory_id!r}", hint="ids are UUIDs, as search prints them") from None


def _batches(items: Iterable[ItemLike], size: int) -> Iterator[list[MemoryItem]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield [_as_item(v) for v in batch]


class MemoryStore:
    def __init__(
        self,
        db: Database,
        embedder: Embedder,
        *,
        ef_search: int = 64,
        batch_size: int = 5_000,
        access_stats: AccessStatsBuffer | None = None,
    ) -> None:
        self.db = db
        self.embedder = embedder
        self.ef_search = ef_search
        self.batch_size = batch_size
        self.access_stats = access_stats if access_stats is not None else AccessStatsBuffer(db)
        self._users: dict[str, str] = {}
        self._namespaces: dict[str, str] = {}
        self._dim_checked = False
        self._search_conn = HeldConnection(db)
        self.last_index_build_seconds = 0.0

    # ------------------------------------------------------------------ lookups
    def _user_id(self, user: str, namespace: str, *, write: bool) -> str:
        uid = self._users.get(user)
        if uid is None:
            uid = access.find_user(self.db, user)
            if uid is None:  # a user nobody created has no grant anywhere
                raise access.no_access(user, namespace, write=write)
            self._users[user] = uid
        return uid

    def _namespace_id(self, name: str) -> str:
        ns = self._namespaces.get(name)
        if ns is None:
            ns = self._namespaces[name] = access.namespace_id(self.db, name)
        return ns

    def _embed(self, texts: list[str]) -> np.ndarray:
        if not self._dim_checked:
            row = self.db.fetch_one(
                "SELECT atttypmod AS dim FROM pg_attribute WHERE attrelid = 'memory_embeddings'::regclass"
                " AND attname = 'embedding'"
            )
            db_dim = int(row["dim"]) if row else -1
            if db_dim != self.embedder.dim:
                raise MemoryStoreError(
                    f"embedding dimension mismatch: the embedder {self.embedder.name!r} makes {self.embedder.dim}-"
                    f"dimensional vectors but memory_embeddings.embedding is vector({db_dim})",
                    hint=f"set COGNITIONOS_EMBEDDING_DIM={db_dim} (or configure the embedder with that dimension); "
                    "changing the column's dimension needs a new database migrated with the new value",
                )
            self._dim_checked = True
        vectors = self.embedder.embed(texts)
        if vectors.shape != (len(texts), self.embedder.dim):
            raise MemoryStoreError(
                f"embedding dimension mismatch: {self.embedder.name!r} returned shape {vectors.shape}, "
                f"expected ({len(texts)}, {self.embedder.dim})",
                hint="the embedding provider must return exactly the configured dimension",
            )
        return vectors

    def _require(self, conn: access.Conn, ns_id: str, namespace: str, user: str, *, write: bool) -> None:
        may_read, may_write = access.permissions(conn, ns_id)
        if not (may_write if write else may_read):
            raise access.no_access(user, namespace, write=write)

    # ------------------------------------------------------------------ writes
    def store(
        self,
        namespace: str,
        user: str,
        content: str,
        *,
        importance: float = 0.5,
        metadata: dict[str, Any] | None = None,
    ) -> str:
        """Store one memory (or count an access of the identical one already stored); returns its id."""
        item = MemoryItem(content=content, importance=importance, metadata=metadata or {})
        ns_id = self._namespace_id(namespace)
        uid = self._user_id(user, namespace, write=True)
        vector = self._embed([item.content])
        with self.db.connection() as conn:
            access.act_as(conn, uid)
            self._require(conn, ns_id, namespace, user, write=True)
            return insert_one(conn, ns_id, uid, item, vector[0])

    def add_many(
        self,
        namespace: str,
        user: str,
        items: Iterable[ItemLike],
        *,
        progress: Callable[[int], None] | None = None,
        defer_index: bool | None = None,
    ) -> AddResult:
        """Bulk ingest through COPY, one transaction per batch; a failed batch leaves earlier ones stored.

        `defer_index` drops the HNSW index for the load and builds it afterwards; by default
        (None) that happens when `items` is a sized collection of >= 10,000 memories that at
        least doubles the table (see `index`).
        """
        ns_id = self._namespace_id(namespace)
        uid = self._user_id(user, namespace, write=True)
        if defer_index is None:
            size = len(items) if isinstance(items, Sized) else 0
            defer_index = size >= 10_000 and size >= index.row_estimate(self.db)
        if defer_index:
            with self.db.connection() as conn:  # refuse before touching the index
                access.act_as(conn, uid)
                self._require(conn, ns_id, namespace, user, write=True)
            index.drop_index(self.db)
            try:
                return self._add_batches(ns_id, uid, namespace, user, items, progress)
            finally:
                self.last_index_build_seconds = index.build_index(self.db)
        return self._add_batches(ns_id, uid, namespace, user, items, progress)

    def _add_batches(
        self,
        ns_id: str,
        uid: str,
        namespace: str,
        user: str,
        items: Iterable[ItemLike],
        progress: Callable[[int], None] | None,
    ) -> AddResult:
        total = AddResult()
        for batch in _batches(items, self.batch_size):
            vectors = self._embed([i.content for i in batch])
            with self.db.connection() as conn:
                access.act_as(conn, uid)
                self._require(conn, ns_id, namespace, user, write=True)
                try:
                    result = copy_batch(conn, ns_id, uid, batch, vectors, self.embedder.dim)
                except psycopg.errors.InsufficientPrivilege as exc:
                    raise access.no_access(user, namespace, write=True) from exc
            total = AddResult(inserted=total.inserted + result.inserted,
                              duplicates=total.duplicates + result.duplicates)
            if progress is not None:
                progress(len(batch))
        return total

    # ------------------------------------------------------------------ reads
    def search(
        self,
        namespace: str,
        user: str,
        query: str,
        *,
        k: int = 5,
        filters: SearchFilters | dict[str, Any] | None = None,
        include_archived: bool = False,
        rerank: RerankWeights | None = None,
    ) -> list[MemoryHit]:
        """The `k` memories of `namespace` closest to `query`, as `user` may read them.

        Candidates come from the HNSW index by cosine distance and are re-ranked with `rerank`
        (similarity, importance, recency) when given; each hit counts as an access for the
        lifecycle policies (buffered, never blocking the search).

        Args:
            namespace (str): The memory namespace to search.
            user (str): The acting user; needs a read grant on `namespace`.
            query (str): Text embedded with the store's embedder.
            k (int): How many hits to return, at least 1.
            filters (SearchFilters | dict | None): Metadata, importance and time filters.
            include_archived (bool): Also search memories the lifecycle archived.
            rerank (RerankWeights | None): Weights for re-ranking; None ranks by similarity.

        Returns:
            list[MemoryHit]: At most `k` hits, best first, with their distance and score.

        Raises:
            MemoryStoreError: `k` < 1, an unknown namespace, or an embedding of the wrong dimension.
            PermissionDenied: `user` has no read grant on `namespace`.
        """
        if k < 1:
            raise MemoryStoreError(f"k must be at least 1, got {k}", hint="ask for one or more results")
        flt = filters if isinstance(filters, SearchFilters) else SearchFilters.from_mapping(filters)
        weights = rerank or RerankWeights()
        ns_id = self._namespace_id(namespace)
        uid = self._user_id(user, namespace, write=False)
        limit = retrieval.candidate_count(k, weights)
        query_vector = self._embed([query])[0]

        def call(conn: access.Conn, exact: bool) -> list[retrieval.SearchRow]:
            params = retrieval.search_params(
                uid, ns_id, query_vector, flt, limit=limit, ef_search=max(self.ef_search, limit),
                include_archived=include_archived, exact=exact,
            )
            try:
                with conn.cursor(row_factory=tuple_row) as cur:
                    return cur.execute(retrieval.SEARCH_CALL, params).fetchall()
            except access.ROLE_ERRORS as exc:
                raise access.role_error(exc) from exc

        with self._search_conn.use() as conn:
            rows = call(conn, exact=False)
            if len(rows) < limit:
                if not rows:
                    with conn.transaction():
                        access.act_as(conn, uid)
                        self._require(conn, ns_id, namespace, user, write=False)
                rows = call(conn, exact=True)
        hits = retrieval.rerank(rows, namespace, k, weights)
        self.access_stats.record([h.id for h in hits])
        return hits

    def retrieve(
        self, namespace: str, user: str, query: str, *, k: int = 5, filters: dict[str, Any] | None = None
    ) -> list[MemoryHit]:
        return self.search(namespace, user, query, k=k, filters=filters)

    def search_memories(
        self, user: str, query: str, *, namespaces: list[str] | None = None, k: int = 5,
        include_archived: bool = False,
    ) -> list[SearchHit]:
        """Vector and full-text rankings fused (see `hybrid`), over the named namespaces or, with
        none named, every namespace the user may read; a named one they may not read is refused."""
        if k < 1:
            raise MemoryStoreError(f"k must be at least 1, got {k}", hint="ask for one or more results")
        ns_ids = None if namespaces is None else [self._namespace_id(name) for name in namespaces]
        uid = access.find_user(self.db, user)
        if uid is None:  # a user nobody created may read nothing
            if namespaces:
                raise access.no_access(user, namespaces[0], write=False)
            return []
        query_vector = self._embed([query])[0]
        with self.db.connection() as conn:
            access.act_as(conn, uid)
            for name, ns_id in zip(namespaces or [], ns_ids or [], strict=True):
                self._require(conn, ns_id, name, user, write=False)
            hits = hybrid.search(conn, query, query_vector, k=k, namespace_ids=ns_ids,
                                 include_archived=include_archived, ef_search=self.ef_search)
        self.access_stats.record([h.id for h in hits])
        return hits

    def read_memories(self, ids: list[str], user: str) -> list[MemoryEntry]:
        """The memories with these ids that the user may read, in the order asked; others are left out."""
        for memory_id in ids:
            _check_id(memory_id)
        uid = access.find_user(self.db, user)
        if uid is None or not ids:
            return []
        with self.db.connection() as conn:
            access.act_as(conn, uid)
            entries = reads.by_ids(conn, ids)
        self.access_stats.record([e.id for e in entries])
        return entries

    def recent_memories(
        self, namespace: str, user: str, *, limit: int = 10, include_archived: bool = False,
    ) -> list[MemoryEntry]:
        """The namespace's newest memories first; PermissionDenied without a read grant."""
        if limit < 1:
            raise MemoryStoreError(f"limit must be at least 1, got {limit}", hint="ask for one or more memories")
        ns_id = self._namespace_id(namespace)
        uid = self._user_id(user, namespace, write=False)
        with self.db.connection() as conn:
            access.act_as(conn, uid)
            self._require(conn, ns_id, namespace, user, write=False)
            entries = reads.recent(conn, ns_id, limit=limit, include_archived=include_archived)
        self.access_stats.record([e.id for e in entries])
        return entries

    def inspect(self, memory_id: str, user: str) -> MemoryRecord:
        """Everything about one memory the user may read (decompressed text included)."""
        _check_id(memory_id)
        uid = access.find_user(self.db, user)
        row = None
        if uid is not None:
            with self.db.connection() as conn:
                access.act_as(conn, uid)
                row = conn.execute(_INSPECT, (memory_id,)).fetchone()
        if row is None:
            owner_ns = self.db.fetch_one(
                "SELECT n.name FROM memories m JOIN memory_namespaces n ON n.id = m.namespace_id WHERE m.id = %s",
                (memory_id,),
            )
            if owner_ns is None:
                raise MemoryStoreError(f"no memory with id {memory_id}", hint="it may have been garbage-collected")
            raise access.no_access(user, owner_ns["name"], write=False)
        text = stored_text(row.pop("content"), row.pop("content_compressed"))
        return MemoryRecord(content=text, **row)

    def stats(self, namespace: str | None = None) -> list[NamespaceStats]:
        if namespace is not None:
            self._namespace_id(namespace)
        return namespace_stats(self.db, namespace)

    # ------------------------------------------------------------------ lifetime
    def flush(self) -> int:
        return self.access_stats.flush()

    def close(self) -> None:
        self.access_stats.close()
        self._search_conn.close()

    def __enter__(self) -> MemoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

