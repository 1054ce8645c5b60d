"""The search call and re-ranking.

A search is one statement: `cognitionos_search_memories(...)` (migrations 0010, 0012)
switches to the app role, sets the acting user and runs the query under row-level security
on the server, with a plan made once per session, so a search costs one round trip and one
statement. The approximate query orders by `e.embedding <=> q` so the HNSW index on
`memory_embeddings` serves it, then fetches each candidate's memory by primary key;
pgvector < 0.8 applies other filters after the index scan, so a namespace that is a small
part of the table (or a tight metadata filter) can yield fewer than k rows. The store then
asks for the exact query, whose ORDER BY the index cannot serve: PostgreSQL reads the
namespace's memories through their namespace index, their embeddings by primary key, and
sorts what is left. Correct, and cheap exactly when it is needed.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
from psycopg.types.json import Jsonb

from cognitionos_dagster.memory.compression import stored_text
from cognitionos_dagster.memory.interface import MemoryHit
from cognitionos_dagster.memory.models import RerankWeights, SearchFilters

# Rows come back as tuples in this column order. Empty metadata comes back as NULL: decoding a
# jsonb value in psycopg (bytes copy, json.loads) was half of a search's row decoding.
SEARCH_CALL = (
    "SELECT id, content, content_compressed, importance, created_at, nullif(metadata, '{}'::jsonb), archived,"
    " distance FROM cognitionos_search_memories(%(user)s, %(ns)s, %(q)b, %(limit)s, %(ef)s, %(archived)s,"
    " %(md)s, %(after)s, %(before)s, %(exact)s)"
)
SearchRow = tuple[str, str | None, bytes | None, float, datetime, dict[str, Any] | None, bool, float]


def search_params(
    user_id: str,
    namespace_id: str,
    query: np.ndarray,
    filters: SearchFilters,
    *,
    limit: int,
    ef_search: int,
    include_archived: bool,
    exact: bool,
) -> dict[str, Any]:
    """The arguments of `SEARCH_CALL`; unused filters go as NULL."""
    return {
        "user": user_id,
        "ns": namespace_id,
        "q": query,
        "limit": limit,
        "ef": ef_search,
        "archived": include_archived,
        "md": Jsonb(filters.metadata) if filters.metadata else None,
        "after": filters.created_after,
        "before": filters.created_before,
        "exact": exact,
    }


def candidate_count(k: int, weights: RerankWeights) -> int:
    """Re-ranking needs a wider pool than k: recency or importance may lift a less similar memory."""
    return k if weights.is_plain_similarity else min(max(4 * k, 20), 400)


def rerank(
    rows: list[SearchRow], namespace: str, k: int, weights: RerankWeights, now: datetime | None = None
) -> list[MemoryHit]:
    """Hits in the order the weights give. Plain similarity (the default) skips the recency and
    importance arithmetic: building the hits is the largest share of a search's own Python."""
    plain = weights.is_plain_similarity
    now = now or datetime.now(UTC)
    hits = []
    for memory_id, content, compressed, importance, created_at, metadata, archived, distance in rows:
        similarity = 1.0 - distance
        if plain:
            score = weights.similarity * similarity
        else:
            age_days = max(0.0, (now - created_at).total_seconds() / 86400.0)
            recency = math.pow(0.5, age_days / weights.half_life_days)
            score = weights.similarity * similarity + weights.recency * recency + weights.importance * importance
        hits.append(
            MemoryHit(
                id=memory_id,
                namespace=namespace,
                content=stored_text(content, compressed),
                score=round(score, 6),
                similarity=round(similarity, 6),
                importance=importance,
                created_at=created_at,
                archived=archived,
                metadata=metadata or {},
            )
        )
    if not plain:
        hits.sort(key=lambda h: h.score, reverse=True)
    return hits[:k]
