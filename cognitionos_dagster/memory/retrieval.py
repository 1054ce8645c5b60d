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

SEARCH_CALL = (
    "SELECT * FROM cognitionos_search_memories(%(user)s, %(ns)s, %(q)b, %(limit)s, %(ef)s, %(archived)s,"
    " %(md)s, %(after)s, %(before)s, %(exact)s)"
)


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
    rows: list[dict[str, Any]], namespace: str, k: int, weights: RerankWeights, now: datetime | None = None
) -> list[MemoryHit]:
    now = now or datetime.now(UTC)
    hits = []
    for row in rows:
        similarity = 1.0 - float(row["distance"])
        age_days = max(0.0, (now - row["created_at"]).total_seconds() / 86400.0)
        recency = math.pow(0.5, age_days / weights.half_life_days)
        score = (
            weights.similarity * similarity
            + weights.recency * recency
            + weights.importance * float(row["importance"])
        )
        hits.append(
            MemoryHit(
                id=row["id"],
                namespace=namespace,
                content=stored_text(row["content"], row["content_compressed"]),
                score=round(score, 6),
                similarity=round(similarity, 6),
                importance=float(row["importance"]),
                created_at=row["created_at"],
                archived=bool(row["archived"]),
                metadata=row["metadata"] or {},
            )
        )
    if not weights.is_plain_similarity:
        hits.sort(key=lambda h: h.score, reverse=True)
    return hits[:k]
