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
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.memory.compression import compress_text

STEPS = ("expire", "compress", "archive", "gc")

# One row per namespace in scope with its policy's cutoffs computed once, so the per-memory
# predicates below are plain comparisons (computing make_interval per memory cost ~1 s per
# million; OFFSET 0 keeps the planner from folding it back into the join). A namespace
# without a policy has NULL cutoffs, which no predicate matches; only a forced compression
# touches it.
_SCOPE = """(
    SELECT n.id, n.name, p.name AS policy, p.min_access_frequency,
           make_interval(days => p.ttl_days) AS ttl,
           %(now)s - make_interval(days => p.ttl_days) AS ttl_cutoff,
           %(now)s - make_interval(days => p.compression_after_days) AS compress_cutoff,
           %(now)s - make_interval(days => p.archive_after_days) AS archive_cutoff
    FROM memory_namespaces n LEFT JOIN memory_lifecycle_policies p ON p.id = n.policy_id
    WHERE %(ns)s::text IS NULL OR n.name = %(ns)s
    OFFSET 0
) s"""
# Not yet past its own expires_at nor its policy's TTL: compressing or archiving a memory that GC
# is about to remove is wasted work, and it would make a dry run disagree with the real pass.
_ALIVE = "(m.expires_at IS NULL OR m.expires_at > %(now)s) AND (s.ttl_cutoff IS NULL OR m.created_at > s.ttl_cutoff)"

PREDICATES = {
    "expire": "m.created_at <= s.ttl_cutoff AND (m.expires_at IS NULL OR m.expires_at > m.created_at + s.ttl)",
    "compress": f"NOT m.compressed AND m.created_at <= s.compress_cutoff AND {_ALIVE}",
    "archive": f"NOT m.archived AND coalesce(m.last_accessed_at, m.created_at) <= s.archive_cutoff AND {_ALIVE}"
    " AND (s.min_access_frequency IS NULL OR m.access_count < s.min_access_frequency)",
    "gc": "s.ttl_cutoff IS NOT NULL AND (m.expires_at <= %(now)s OR m.created_at <= s.ttl_cutoff)",
}
# Over quota: compress everything still plain now, whatever its age or policy.
_FORCED_COMPRESS = f"NOT m.compressed AND {_ALIVE}"


def _select_from(step: str, *, force: bool = False) -> str:
    predicate = _FORCED_COMPRESS if force and step == "compress" else PREDICATES[step]
    return f"FROM memories m, {_SCOPE} WHERE m.namespace_id = s.id AND {predicate}"


_STORED = "coalesce(octet_length(m.content), 0) + coalesce(octet_length(m.content_compressed), 0)"

_ACTIONS = {
    "expire": f"""
        WITH changed AS (
            UPDATE memories m SET expires_at = m.created_at + s.ttl
            FROM {_SCOPE} WHERE m.namespace_id = s.id AND {PREDICATES['expire']}
            RETURNING s.name AS namespace, {_STORED} AS bytes
        ) SELECT namespace, count(*) AS rows, coalesce(sum(bytes), 0) AS bytes FROM changed GROUP BY namespace
    """,
    "archive": f"""
        WITH changed AS (
            UPDATE memories m SET archived = true
            FROM {_SCOPE} WHERE m.namespace_id = s.id AND {PREDICATES['archive']}
            RETURNING s.name AS namespace, {_STORED} AS bytes
        ) SELECT namespace, count(*) AS rows, coalesce(sum(bytes), 0) AS bytes FROM changed GROUP BY namespace
    """,
    # Also says, per namespace, how many removed rows the expire step would have marked first:
    # a pass that runs both lets GC remove those directly (see `run_gc`).
    "gc": f"""
        WITH removed AS (
            DELETE FROM memories m USING {_SCOPE}
            WHERE m.namespace_id = s.id AND {PREDICATES['gc']}
            RETURNING s.id AS namespace_id, s.name AS namespace, s.policy, {_STORED} AS bytes, m.created_at,
                      ({PREDICATES['expire']}) AS expiring
        ), per_namespace AS (
            SELECT namespace_id, namespace, policy, count(*) AS rows, coalesce(sum(bytes), 0) AS bytes,
                   min(created_at) AS oldest, max(created_at) AS newest,
                   count(*) FILTER (WHERE expiring) AS expired_rows,
                   coalesce(sum(bytes) FILTER (WHERE expiring), 0) AS expired_bytes
            FROM removed GROUP BY namespace_id, namespace, policy
        ), audit AS (
            INSERT INTO memory_gc_audit (run_id, namespace_id, namespace, policy, reason, removed_count,
                                         removed_bytes, oldest_created_at, newest_created_at)
            SELECT %(run)s, namespace_id, namespace, policy, 'ttl', rows, bytes, oldest, newest FROM per_namespace
        ) SELECT namespace, rows, bytes, expired_rows, expired_bytes FROM per_namespace
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
        SELECT s.name AS namespace, count(*) AS rows, coalesce(sum({_STORED}), 0) AS bytes
        {_select_from(step, force=force)} GROUP BY s.name
    """
    return _collect(step, db.fetch_all(sql, params), started)


def run_sql_step(db: Database, step: str, params: dict[str, Any]) -> StepReport:
    """expire, archive: one statement, one transaction."""
    started = time.perf_counter()
    return _collect(step, db.fetch_all(_ACTIONS[step], params), started)


def run_gc(db: Database, params: dict[str, Any]) -> tuple[StepReport, StepReport]:
    """Remove what a policy allows; returns the GC report and the expire step's share of it.

    Marking memories expired and then deleting them in the same pass writes every such row
    twice for nothing, so a pass that runs both steps skips the marking and reports here
    which of the removed memories the expire step would have marked.
    """
    started = time.perf_counter()
    rows = db.fetch_all(_ACTIONS["gc"], params)
    gc = _collect("gc", rows, started)
    expired = _collect("expire", [{"namespace": r["namespace"], "rows": r["expired_rows"],
                                   "bytes": r["expired_bytes"]} for r in rows if r["expired_rows"]], started)
    expired.seconds = 0.0
    return gc, expired


def run_compress(
    db: Database,
    params: dict[str, Any],
    *,
    chunk_size: int = 50_000,
    force: bool = False,
    on_chunk: Callable[[int], None] | None = None,
) -> StepReport:
    """Stream candidates with a server-side cursor; write each compressed chunk in its own transaction.

    Writing a chunk runs on a second thread while the next chunk is read and compressed, so
    zlib (this process) and the UPDATE (the server) overlap; at most two chunks are in memory.
    """
    started = time.perf_counter()
    totals: dict[str, list[int]] = {}

    def account(chunk: list[dict[str, Any]], blobs: list[bytes], written: set[Any]) -> None:
        for r, blob in zip(chunk, blobs, strict=True):
            if r["id"] in written:
                entry = totals.setdefault(r["namespace"], [0, 0, 0])
                entry[0] += 1
                entry[1] += len(blob)
                entry[2] += len(r["content"].encode()) - len(blob)
        if on_chunk is not None:
            on_chunk(len(written))

    select = f"SELECT m.id, s.name AS namespace, m.content {_select_from('compress', force=force)}"
    with db.connection() as reader, ThreadPoolExecutor(1, thread_name_prefix="memory-compress") as writer:
        cursor = reader.cursor(name="memory_compress_candidates")
        cursor.itersize = chunk_size
        cursor.execute(select, params)
        pending: tuple[list[dict[str, Any]], list[bytes], Future[set[Any]]] | None = None
        while chunk := cursor.fetchmany(chunk_size):
            blobs = [compress_text(r["content"]) for r in chunk]
            if pending is not None:
                account(pending[0], pending[1], pending[2].result())
            pending = (chunk, blobs, writer.submit(_write_chunk, db, [r["id"] for r in chunk], blobs))
        if pending is not None:
            account(pending[0], pending[1], pending[2].result())
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
        # The staging table has no statistics: without this the planner may hash the whole
        # memories table (1.6 s per 50k chunk at 1M rows) instead of probing the primary key (0.5 s).
        conn.execute("SET LOCAL enable_hashjoin = off")
        conn.execute("SET LOCAL enable_mergejoin = off")
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
