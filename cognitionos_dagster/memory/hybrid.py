"""Hybrid search: a vector ranking and a full-text ranking of the memories a user may read, fused.

Vectors find paraphrases that share no word with the query; full text finds the exact term
(an error code, a host name) that a hashed or learned embedding blurs. Reciprocal rank
fusion adds `1 / (RRF_K + rank)` over the two rankings, so neither needs its scores
calibrated against the other: a memory both rankings place high wins, and a memory only one
of them found still gets in.

Every statement runs in the caller's transaction, after `access.act_as`: row-level security
on `memories` and `memory_embeddings` decides what either ranking can see, for every
namespace at once. The text ranking's candidates come from `cognitionos_text_matches`
(migration 0017: the GIN index, which row-level security would otherwise keep unused); the
vector ranking walks the HNSW index and, as `MemoryStore.search` does, falls back to the
exact order when the index walk comes back short under the filters.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from psycopg.rows import tuple_row

from cognitionos_dagster.memory import access
from cognitionos_dagster.memory.compression import stored_text
from cognitionos_dagster.memory.interface import SearchHit

RRF_K = 60  # the constant of Cormack et al.: damps the head of each ranking
_FILTER = ("(%(ns)s::uuid[] IS NULL OR m.namespace_id = ANY(%(ns)s)) AND (%(archived)s OR NOT m.archived)"
           " AND (m.expires_at IS NULL OR m.expires_at > now())")

_VECTOR = f"""
SELECT e.memory_id::text, e.embedding <=> %(q)s AS distance
FROM memory_embeddings e JOIN memories m ON m.id = e.memory_id
WHERE {_FILTER}
ORDER BY {{order}} LIMIT %(pool)s
"""
# The matches come from the owner's index lookup (migration 0017), filtered by the read policy's
# predicate; joining them to `memories` here applies the policy itself to every row as well.
_TEXT_RANKING = """
SELECT t.memory_id::text
FROM cognitionos_text_matches(%(text)s, %(ns)s, %(archived)s, %(pool)s) t JOIN memories m ON m.id = t.memory_id
ORDER BY t.rank DESC, t.memory_id DESC
"""
_ROWS = """
SELECT m.id::text, n.name, m.content, m.content_compressed, m.importance, m.created_at, m.archived, m.metadata
FROM memories m JOIN memory_namespaces n ON n.id = m.namespace_id
WHERE m.id = ANY(%s::uuid[])
"""


def pool_size(k: int) -> int:
    """How deep each ranking goes: a memory ranked low in one list can still win on the other."""
    return min(max(4 * k, 20), 200)


def search(
    conn: access.Conn, query: str, query_vector: np.ndarray, *, k: int, namespace_ids: list[str] | None,
    include_archived: bool, ef_search: int,
) -> list[SearchHit]:
    """Top-k by fused rank, in a transaction already acting as the user."""
    pool = pool_size(k)
    params: dict[str, Any] = {"q": query_vector, "text": query, "pool": pool, "ns": namespace_ids,
                              "archived": include_archived}
    with conn.cursor(row_factory=tuple_row) as cur:
        cur.execute("SELECT set_config('hnsw.ef_search', %s, true)", (str(max(ef_search, pool)),))
        vector_rows = cur.execute(_VECTOR.format(order="e.embedding <=> %(q)s"), params).fetchall()
        if len(vector_rows) < pool:  # the index walk ran dry under the filters: order them all
            vector_rows = cur.execute(_VECTOR.format(order="(e.embedding <=> %(q)s) + 0"), params).fetchall()
        text_ids = [row[0] for row in cur.execute(_TEXT_RANKING, params).fetchall()]
        distances = {memory_id: float(distance) for memory_id, distance in vector_rows}
        fused = fuse([row[0] for row in vector_rows], text_ids)[:k]
        if not fused:
            return []
        rows = {row[0]: row for row in cur.execute(_ROWS, ([memory_id for memory_id, _ in fused],)).fetchall()}
    vector_rank = {memory_id: n for n, (memory_id, _) in enumerate(vector_rows, start=1)}
    text_rank = {memory_id: n for n, memory_id in enumerate(text_ids, start=1)}
    hits = []
    for memory_id, score in fused:
        _, namespace, content, compressed, importance, created_at, archived, metadata = rows[memory_id]
        distance = distances.get(memory_id)
        hits.append(SearchHit(
            id=memory_id, namespace=namespace, content=stored_text(content, compressed), importance=importance,
            created_at=created_at, archived=archived, metadata=metadata or {}, score=round(score, 6),
            similarity=None if distance is None else round(1.0 - distance, 6),
            vector_rank=vector_rank.get(memory_id), text_rank=text_rank.get(memory_id),
        ))
    return hits


def fuse(*rankings: list[str]) -> list[tuple[str, float]]:
    """Reciprocal rank fusion: ids by the sum of 1 / (RRF_K + rank) over the rankings that hold them."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, memory_id in enumerate(ranking, start=1):
            scores[memory_id] = scores.get(memory_id, 0.0) + 1.0 / (RRF_K + rank)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))
