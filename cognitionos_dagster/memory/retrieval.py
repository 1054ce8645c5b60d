"""Vector search SQL and re-ranking.

The approximate query orders by `e.embedding <=> q` so the HNSW index on
`memory_embeddings` serves it, then fetches each candidate's memory by primary key; pgvector
< 0.8 applies other filters after the index scan, so a namespace that is a small part of
the table (or a tight metadata filter) can yield fewer than k rows. The store then asks
the exact query, whose ORDER BY the index cannot serve, so PostgreSQL filters first
(namespace index) and sorts what is left: correct, and cheap exactly when it is needed.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from psycopg.types.json import Jsonb

from cognitionos_dagster.memory.compression import stored_text
from cognitionos_dagster.memory.interface import MemoryHit
from cognitionos_dagster.memory.models import RerankWeights, SearchFilters

_COLUMNS = (
    "m.id::text AS id, m.content, m.content_compressed, m.importance, m.created_at, m.metadata, m.archived,"
    " e.embedding <=> %(q)b AS distance"
)


def search_sql(filters: SearchFilters, *, include_archived: bool, exact: bool) -> tuple[str, dict[str, Any]]:
    where = ["e.namespace_id = %(ns)s", "m.id = e.memory_id", "(m.expires_at IS NULL OR m.expires_at > now())"]
    params: dict[str, Any] = {}
    if not include_archived:
        where.append("NOT m.archived")
    if filters.metadata:
        where.append("m.metadata @> %(md)s")
        params["md"] = Jsonb(filters.metadata)
    if filters.created_after is not None:
        where.append("m.created_at >= %(after)s")
        params["after"] = filters.created_after
    if filters.created_before is not None:
        where.append("m.created_at < %(before)s")
        params["before"] = filters.created_before
    order = "(e.embedding <=> %(q)b) + 0" if exact else "e.embedding <=> %(q)b"
    sql = (f"SELECT {_COLUMNS} FROM memory_embeddings e, memories m WHERE {' AND '.join(where)}"
           f" ORDER BY {order} LIMIT %(limit)s")
    return sql, params


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
