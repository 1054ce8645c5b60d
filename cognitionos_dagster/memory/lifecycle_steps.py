"""The four lifecycle steps as set-based SQL: a few statements per pass, never a query per memory.

Each step is one predicate shared by its dry run (a `SELECT count`) and its real run (one
`UPDATE`/`DELETE ... RETURNING` aggregated per namespace), so a dry run reports exactly
what the real run would change. Predicates exclude what a step already did (`NOT
compressed`, `NOT archived`, ...), which makes every step idempotent: a pass killed
half-way is completed by running it again, and nothing is done twice. Compression needs
zlib, which PostgreSQL lacks, so it streams candidates out, compresses in Python and
writes each large chunk back with COPY + one UPDATE in its own transaction.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.memory.compression import compress_text

STEPS = ("expire", "compress", "archive", "gc")

_JOIN = "memory_namespaces n JOIN memory_lifecycle_policies p ON p.id = n.policy_id"
_IN_SCOPE = "m.namespace_id = n.id AND (%(ns)s::text IS NULL OR n.name = %(ns)s)"
_SCOPE = f"FROM {_JOIN} WHERE {_IN_SCOPE}"  # for UPDATE ... FROM
_DAYS = "make_interval(days => p.{field})"
# Not yet past its own expires_at nor its policy's TTL: compressing or archiving a memory that GC
# is about to remove is wasted work, and it would make a dry run disagree with the real pass.
_ALIVE = (
    "(m.expires_at IS NULL OR m.expires_at > %(now)s)"
    f" AND (p.ttl_days IS NULL OR m.created_at > %(now)s - {_DAYS.format(field='ttl_days')})"
)

PREDICATES = {
    "expire": f"p.ttl_days IS NOT NULL AND m.created_at <= %(now)s - {_DAYS.format(field='ttl_days')}"
    f" AND (m.expires_at IS NULL OR m.expires_at > m.created_at + {_DAYS.format(field='ttl_days')})",
    "compress": f"p.compression_after_days IS NOT NULL AND NOT m.compressed AND {_ALIVE}"
    f" AND m.created_at <= %(now)s - {_DAYS.format(field='compression_after_days')}",
    "archive": f"p.archive_after_days IS NOT NULL AND NOT m.archived AND {_ALIVE}"
    f" AND coalesce(m.last_accessed_at, m.created_at) <= %(now)s - {_DAYS.format(field='archive_after_days')}"
    " AND (p.min_access_frequency IS NULL OR m.access_count < p.min_access_frequency)",
    "gc": "p.ttl_days IS NOT NULL AND (m.expires_at <= %(now)s"
    f" OR m.created_at <= %(now)s - {_DAYS.format(field='ttl_days')})",
}
# Over quota: compress everything still plain now, whatever its age or policy.
_FORCED_COMPRESS = (
    "FROM memories m, memory_namespaces n LEFT JOIN memory_lifecycle_policies p ON p.id = n.policy_id"
    f" WHERE {_IN_SCOPE} AND NOT m.compressed AND {_ALIVE}"
)


def _select_from(step: str, *, force: bool = False) -> str:
    if force and step == "compress":
        return _FORCED_COMPRESS
    return f"FROM memories m, {_JOIN} WHERE {_IN_SCOPE} AND {PREDICATES[step]}"

_STORED = "coalesce(octet_length(m.content), 0) + coalesce(octet_length(m.content_compressed), 0)"

_ACTIONS = {
    "expire": f"""
        WITH changed AS (
            UPDATE memories m SET expires_at = m.created_at + {_DAYS.format(field='ttl_days')}
            {_SCOPE} AND {PREDICATES['expire']}
            RETURNING n.name AS namespace, {_STORED} AS bytes
        ) SELECT namespace, count(*) AS rows, coalesce(sum(bytes), 0) AS bytes FROM changed GROUP BY namespace
    """,
    "archive": f"""
        WITH changed AS (
            UPDATE memories m SET archived = true
            {_SCOPE} AND {PREDICATES['archive']}
            RETURNING n.name AS namespace, {_STORED} AS bytes
        ) SELECT namespace, count(*) AS rows, coalesce(sum(bytes), 0) AS bytes FROM changed GROUP BY namespace
    """,
    "gc": f"""
        WITH removed AS (
            DELETE FROM memories m USING {_JOIN}
            WHERE {_IN_SCOPE} AND {PREDICATES['gc']}
            RETURNING n.id AS namespace_id, n.name AS namespace, p.name AS policy, {_STORED} AS bytes, m.created_at
        ), audit AS (
            INSERT INTO memory_gc_audit (run_id, namespace_id, namespace, policy, reason, removed_count,
                                         removed_bytes, oldest_created_at, newest_created_at)
            SELECT %(run)s, namespace_id, namespace, policy, 'ttl', count(*), coalesce(sum(bytes), 0),
                   min(created_at), max(created_at)
            FROM removed GROUP BY namespace_id, namespace, policy
            RETURNING namespace, removed_count, removed_bytes
        ) SELECT namespace, removed_count AS rows, removed_bytes AS bytes FROM audit
    """,
}


class StepReport(BaseModel):
    """What one step changed (or, in a dry run, would change), per namespace."""

    step: str
    rows: int = 0
    bytes: int = 0  # stored bytes of the rows touched (gc: freed)
    bytes_saved: int = 0  # compress: original minus compressed size
    by_namespace: dict[str, int] = Field(default_factory=dict)
    seconds: float = 0.0


def _collect(step: str, rows: list[dict[str, Any]], started: float) -> StepReport:
    report = StepReport(step=step, seconds=round(time.perf_counter() - started, 4))
    for r in rows:
        report.by_namespace[r["namespace"]] = report.by_namespace.get(r["namespace"], 0) + int(r["rows"])
        report.rows += int(r["rows"])
        report.bytes += int(r["bytes"] or 0)
    return report


def count_step(db: Database, step: str, params: dict[str, Any], *, force: bool = False) -> StepReport:
    started = time.perf_counter()
    sql = f"""
        SELECT n.name AS namespace, count(*) AS rows, coalesce(sum({_STORED}), 0) AS bytes
        {_select_from(step, force=force)} GROUP BY n.name
    """
    return _collect(step, db.fetch_all(sql, params), started)


def run_sql_step(db: Database, step: str, params: dict[str, Any]) -> StepReport:
    """expire, archive, gc: one statement, one transaction."""
    started = time.perf_counter()
    return _collect(step, db.fetch_all(_ACTIONS[step], params), started)


def run_compress(
    db: Database,
    params: dict[str, Any],
    *,
    chunk_size: int = 50_000,
    force: bool = False,
    on_chunk: Callable[[int], None] | None = None,
) -> StepReport:
    """Stream candidates with a server-side cursor; write each compressed chunk in its own transaction."""
    started = time.perf_counter()
    totals: dict[str, list[int]] = {}
    select = f"SELECT m.id, n.name AS namespace, m.content {_select_from('compress', force=force)}"
    with db.connection() as reader:
        cursor = reader.cursor(name="memory_compress_candidates")
        cursor.itersize = chunk_size
        cursor.execute(select, params)
        while chunk := cursor.fetchmany(chunk_size):
            blobs = [compress_text(r["content"]) for r in chunk]
            written = _write_chunk(db, [r["id"] for r in chunk], blobs)
            for r, blob in zip(chunk, blobs, strict=True):
                if r["id"] in written:
                    entry = totals.setdefault(r["namespace"], [0, 0, 0])
                    entry[0] += 1
                    entry[1] += len(blob)
                    entry[2] += len(r["content"].encode()) - len(blob)
            if on_chunk is not None:
                on_chunk(len(written))
    report = StepReport(step="compress", seconds=0.0)
    for namespace, (rows, stored, saved) in totals.items():
        report.by_namespace[namespace] = rows
        report.rows += rows
        report.bytes += stored
        report.bytes_saved += saved
    report.seconds = round(time.perf_counter() - started, 4)
    return report


def _write_chunk(db: Database, ids: list[Any], blobs: list[bytes]) -> set[Any]:
    """Replace the text by its zlib stream for rows still uncompressed; returns the ids written."""
    with db.connection() as conn:
        conn.execute("CREATE TEMP TABLE memories_compressed (id uuid, blob bytea) ON COMMIT DROP")
        with conn.cursor().copy("COPY memories_compressed FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["uuid", "bytea"])
            for memory_id, blob in zip(ids, blobs, strict=True):
                copy.write_row((memory_id, blob))
        rows = conn.execute(
            """
            UPDATE memories m SET content_compressed = c.blob, content = NULL, compressed = true,
                content_bytes = coalesce(m.content_bytes, octet_length(m.content))
            FROM memories_compressed c
            WHERE m.id = c.id AND NOT m.compressed AND m.content IS NOT NULL
            RETURNING m.id
            """
        ).fetchall()
    return {r["id"] for r in rows}


def scope_params(namespace: str | None, now: datetime, run_id: str | None) -> dict[str, Any]:
    return {"ns": namespace, "now": now, "run": run_id}
