"""Bulk ingest: binary COPY into a transaction-local staging table, then one INSERT ... ON CONFLICT.

COPY cannot dedupe, so rows land in a temporary table first; the INSERT then keeps one
row per (namespace, content hash) and counts a re-added memory as an access instead of
replacing it. Duplicates inside one batch are folded in Python (the staging row carries
how many extra copies it stands for), because ON CONFLICT may touch a row only once.
The same statement writes the new memories' vectors to `memory_embeddings` (migration
0008 says why they live beside the row), so a memory never exists without its embedding.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from psycopg.types.json import Jsonb

from cognitionos_dagster.memory.access import Conn
from cognitionos_dagster.memory.compression import content_hash
from cognitionos_dagster.memory.models import AddResult, MemoryItem

_STAGING = """
CREATE TEMP TABLE memories_staging (
    content text, content_hash text, content_bytes int, embedding vector({dim}), importance real,
    metadata jsonb, expires_at timestamptz, extra_accesses int
) ON COMMIT DROP
"""

_MERGE = """
WITH merged AS (
    INSERT INTO memories AS m (namespace_id, owner_user_id, content, content_hash, content_bytes,
                               importance, metadata, expires_at, access_count, last_accessed_at)
    SELECT %(ns)s, %(user)s, content, content_hash, content_bytes, importance, metadata, expires_at,
           extra_accesses, CASE WHEN extra_accesses > 0 THEN now() END
    FROM memories_staging
    ON CONFLICT (namespace_id, content_hash) DO UPDATE
        SET access_count = m.access_count + 1 + EXCLUDED.access_count, last_accessed_at = now()
    RETURNING m.id, m.content_hash, (xmax = 0) AS inserted
), vectors AS (
    INSERT INTO memory_embeddings (memory_id, namespace_id, embedding)
    SELECT merged.id, %(ns)s, s.embedding
    FROM merged JOIN memories_staging s ON s.content_hash = merged.content_hash
    WHERE merged.inserted
)
SELECT count(*) FILTER (WHERE inserted) AS inserted, count(*) FILTER (WHERE NOT inserted) AS duplicates
FROM merged
"""


_INSERT_ONE = """
WITH stored AS (
    INSERT INTO memories AS m (namespace_id, owner_user_id, content, content_hash, content_bytes, importance,
                               metadata, expires_at)
    VALUES (%(ns)s, %(user)s, %(content)s, %(hash)s, %(bytes)s, %(importance)s, %(metadata)s, %(expires_at)s)
    ON CONFLICT (namespace_id, content_hash) DO UPDATE
        SET access_count = m.access_count + 1, last_accessed_at = now()
    RETURNING m.id, (xmax = 0) AS inserted
), vector AS (
    INSERT INTO memory_embeddings (memory_id, namespace_id, embedding)
    SELECT id, %(ns)s, %(embedding)s FROM stored WHERE inserted
)
SELECT id::text AS id FROM stored
"""


def insert_one(conn: Conn, ns_id: str, user_id: str, item: MemoryItem, embedding: np.ndarray) -> str:
    """One memory, deduped like a batch; returns the id of the stored (or already present) row."""
    row = conn.execute(
        _INSERT_ONE,
        {
            "ns": ns_id, "user": user_id, "content": item.content, "hash": content_hash(item.content),
            "bytes": len(item.content.encode()), "embedding": embedding, "importance": item.importance,
            "metadata": Jsonb(item.metadata), "expires_at": item.expires_at,
        },
    ).fetchone()
    assert row is not None
    return str(row["id"])


def fold_duplicates(items: Sequence[MemoryItem]) -> tuple[list[int], list[str], list[int]]:
    """Indexes of the first copy of each text, their hashes, and how many extra copies each had."""
    first: dict[str, int] = {}
    keep: list[int] = []
    hashes: list[str] = []
    extra: list[int] = []
    for i, item in enumerate(items):
        h = content_hash(item.content)
        slot = first.get(h)
        if slot is None:
            first[h] = len(keep)
            keep.append(i)
            hashes.append(h)
            extra.append(0)
        else:
            extra[slot] += 1
    return keep, hashes, extra


def copy_batch(
    conn: Conn, ns_id: str, user_id: str, items: Sequence[MemoryItem], embeddings: np.ndarray, dim: int
) -> AddResult:
    """Stage and merge one batch inside the caller's (user-scoped) transaction."""
    keep, hashes, extra = fold_duplicates(items)
    conn.execute(_STAGING.format(dim=int(dim)))
    header = np.array([dim, 0], dtype=">i2").tobytes()
    vectors = embeddings.astype(">f4", copy=False)
    with conn.cursor().copy("COPY memories_staging FROM STDIN (FORMAT BINARY)") as copy:
        # Binary COPY sends each field as length + bytes; the vector goes pre-encoded in pgvector's
        # binary layout (int16 dim, int16 0, big-endian float4s), dumped as plain bytes.
        copy.set_types(["text", "text", "int4", "bytea", "float4", "jsonb", "timestamptz", "int4"])
        for slot, i in enumerate(keep):
            item = items[i]
            copy.write_row((
                item.content, hashes[slot], len(item.content.encode()), header + vectors[i].tobytes(),
                item.importance, Jsonb(item.metadata), item.expires_at, extra[slot],
            ))
    row = conn.execute(_MERGE, {"ns": ns_id, "user": user_id}).fetchone()
    assert row is not None
    folded = len(items) - len(keep)
    return AddResult(inserted=int(row["inserted"]), duplicates=int(row["duplicates"]) + folded)
