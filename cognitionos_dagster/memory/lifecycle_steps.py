"""The four lifecycle steps as set-based SQL: a few statements per pass, never a query per memory.

Each step is one predicate shared by its dry run (a `SELECT count`) and its real run (an
`UPDATE`/`DELETE ... RETURNING` aggregated per namespace, over the whole table or over each
of its block ranges), so a dry run reports exactly what the real run would change.
Predicates exclude what a step already did (`NOT compressed`, `NOT archived`, ...), which
makes every step idempotent: a pass killed half-way is completed by running it again, and
nothing is done twice. Compression needs zlib, which PostgreSQL lacks, so it streams
candidates out, compresses in Python and writes each large chunk back with COPY + one
UPDATE in its own transaction.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

import psycopg
from psycopg.rows import tuple_row
from pydantic import BaseModel, Field

from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.memory.compression import compress_text

STEPS = ("expire", "compress", "archive", "gc")
_T = TypeVar("_T")

# One row per namespace in scope with its policy's cutoffs computed once, so the per-memory
# predicates below are plain comparisons: computing make_interval per memory dominated a pass
# over a large table (docs/benchmarks.md, "Measurements behind the code"). OFFSET 0 keeps the
# planner from folding it back into the join. A namespace without a policy has NULL cutoffs,
# which no predicate matches; only a forced compression touches it.
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
            FROM {_SCOPE} WHERE {{blocks}}m.namespace_id = s.id AND {PREDICATES['expire']}
            RETURNING s.name AS namespace, {_STORED} AS bytes
        ) SELECT namespace, count(*) AS rows, coalesce(sum(bytes), 0) AS bytes FROM changed GROUP BY namespace
    """,
    "archive": f"""
        WITH changed AS (
            UPDATE memories m SET archived = true
            FROM {_SCOPE} WHERE {{blocks}}m.namespace_id = s.id AND {PREDICATES['archive']}
            RETURNING s.name AS namespace, {_STORED} AS bytes
        ) SELECT namespace, count(*) AS rows, coalesce(sum(bytes), 0) AS bytes FROM changed GROUP BY namespace
    """,
    # Also says, per namespace, how many removed rows the expire step would have marked first:
    # a pass that runs both lets GC remove those directly (see `run_gc`).
    "gc": f"""
        WITH removed AS (
            DELETE FROM memories m USING {_SCOPE}
            WHERE {{blocks}}m.namespace_id = s.id AND {PREDICATES['gc']}
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


# A statement over the whole table is one backend on one core. Above this size, a pass over every
# namespace splits its flag updates into block ranges (PostgreSQL's TID range scan reads only its
# range), which two connections take in turn, faster than one statement on a large table
# (figures in docs/benchmarks.md, "Measurements behind the code").
_SPLIT_MIN_PAGES = 8192
_PIECE_PAGES = 4096
_MAX_PIECES = 8
_DEADLOCK_RETRIES = 3

Blocks = tuple[int, int | None] | None  # heap blocks [first, last), last None = to the end; None = all


def _action(step: str, blocks: Blocks = None) -> str:
    """The step's statement, limited to a block range when given."""
    if blocks is None:
        return _ACTIONS[step].replace("{blocks}", "")
    first, last = blocks
    cond = f"m.ctid >= '({int(first)},0)'::tid AND "
    if last is not None:
        cond += f"m.ctid < '({int(last)},0)'::tid AND "
    return _ACTIONS[step].replace("{blocks}", cond)


def pieces(db: Database, params: dict[str, Any]) -> list[Blocks]:
    """The pieces a flag-update step runs in: block ranges of a large table in a pass over every
    namespace, else one statement (the planner may find one namespace's rows through its
    index; block ranges would make it read the whole table). The last range is open-ended, so
    a row a concurrent update moves past the end is still seen."""
    if params.get("ns") is not None:
        return [None]
    row = db.fetch_one("SELECT pg_relation_size('memories') / current_setting('block_size')::int AS pages")
    pages = int(row["pages"]) if row else 0
    count = min(_MAX_PIECES, pages // _PIECE_PAGES) if pages >= _SPLIT_MIN_PAGES else 1
    if count <= 1:
        return [None]
    bounds = [pages * i // count for i in range(count)]
    return [*itertools.pairwise(bounds), (bounds[-1], None)]


def merge(step: str, parts: list[StepReport], seconds: float) -> StepReport:
    """One step's report from its pieces'."""
    report = StepReport(step=step, seconds=round(seconds, 4))
    for part in parts:
        report.rows += part.rows
        report.bytes += part.bytes
        report.bytes_saved += part.bytes_saved
        for namespace, rows in part.by_namespace.items():
            report.by_namespace[namespace] = report.by_namespace.get(namespace, 0) + rows
    return report


def _retrying_deadlocks(run: Callable[[], _T]) -> _T:
    """Run an idempotent statement again when PostgreSQL chose it as a deadlock's victim.

    Pieces of different steps may run at once and update the same row (a memory both old enough
    to compress and idle long enough to archive); PostgreSQL breaks a lock cycle by rolling
    one transaction back, and that transaction's predicate finds exactly the rows still to do.
    """
    attempt = 1
    while True:
        try:
            return run()
        except psycopg.errors.DeadlockDetected:
            if attempt == _DEADLOCK_RETRIES:
                raise
            attempt += 1


def run_piece(db: Database, step: str, params: dict[str, Any], blocks: Blocks = None) -> StepReport:
    """expire, archive: one statement over one piece, in its own transaction."""
    started = time.perf_counter()
    return _collect(step, _retrying_deadlocks(lambda: db.fetch_all(_action(step, blocks), params)), started)


def run_gc(db: Database, params: dict[str, Any]) -> tuple[StepReport, StepReport]:
    """Remove what a policy allows; returns the GC report and the expire step's share of it.

    Marking memories expired and then deleting them in the same pass writes every such row
    twice for nothing, so a pass that runs both steps skips the marking and reports here
    which of the removed memories the expire step would have marked.
    """
    started = time.perf_counter()
    rows = db.fetch_all(_action("gc"), params)
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
    This step's Python is on the pass's critical path, so rows come as tuples and the server
    counts what it wrote (per-row dicts and per-row accounting were a large share of the step).
    """
    started = time.perf_counter()
    totals: dict[str, list[int]] = {}

    def account(written: list[tuple[str, int, int, int]]) -> None:
        for namespace, rows, stored, saved in written:
            entry = totals.setdefault(namespace, [0, 0, 0])
            entry[0] += rows
            entry[1] += stored
            entry[2] += saved
        if on_chunk is not None:
            on_chunk(sum(w[1] for w in written))

    select = f"SELECT m.id, m.content {_select_from('compress', force=force)}"
    with db.connection() as reader, ThreadPoolExecutor(1, thread_name_prefix="memory-compress") as writer:
        # From the first block on, not where another scan of the table happens to be: chunks then
        # lock their rows in the order the flag-update pieces do, which keeps deadlocks rare.
        reader.execute("SET LOCAL synchronize_seqscans = off")
        cursor = reader.cursor(name="memory_compress_candidates", row_factory=tuple_row)
        cursor.itersize = chunk_size
        cursor.execute(select, params)
        pending: Future[list[tuple[str, int, int, int]]] | None = None
        while chunk := cursor.fetchmany(chunk_size):
            rows = [(memory_id, compress_text(content)) for memory_id, content in chunk]
            if pending is not None:
                account(pending.result())
            pending = writer.submit(_retrying_deadlocks, partial(_write_chunk, db, rows))
        if pending is not None:
            account(pending.result())
    report = StepReport(step="compress", seconds=0.0)
    for namespace, (count, stored, saved) in totals.items():
        report.by_namespace[namespace] = count
        report.rows += count
        report.bytes += stored
        report.bytes_saved += saved
    report.seconds = round(time.perf_counter() - started, 4)
    return report


_WRITE_COMPRESSED = """
    WITH written AS (
        UPDATE memories m SET content_compressed = c.blob, content = NULL, compressed = true,
            content_bytes = coalesce(m.content_bytes, octet_length(m.content))
        FROM memories_compressed c
        WHERE m.id = c.id AND NOT m.compressed AND m.content IS NOT NULL
        RETURNING m.namespace_id, octet_length(c.blob) AS stored, m.content_bytes - octet_length(c.blob) AS saved
    )
    SELECT n.name, count(*), sum(w.stored), sum(w.saved)
    FROM written w JOIN memory_namespaces n ON n.id = w.namespace_id GROUP BY n.name
"""


def _write_chunk(db: Database, rows: list[tuple[Any, bytes]]) -> list[tuple[str, int, int, int]]:
    """Replace the text by its zlib stream for rows still uncompressed.

    Returns, per namespace, the rows written, their stored bytes and the bytes saved (a row
    compressed meanwhile by another pass is skipped and not counted).
    """
    with db.connection() as conn:
        conn.execute("CREATE TEMP TABLE memories_compressed (id uuid, blob bytea) ON COMMIT DROP")
        with conn.cursor().copy("COPY memories_compressed FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["uuid", "bytea"])
            for row in rows:
                copy.write_row(row)
        # The staging table has no statistics: without this the planner may hash the whole
        # memories table instead of probing the primary key, several times slower per chunk.
        conn.execute("SET LOCAL enable_hashjoin = off")
        conn.execute("SET LOCAL enable_mergejoin = off")
        with conn.cursor(row_factory=tuple_row) as cur:
            return [(name, int(n), int(stored), int(saved)) for name, n, stored, saved in
                    cur.execute(_WRITE_COMPRESSED).fetchall()]


def scope_params(namespace: str | None, now: datetime, run_id: str | None) -> dict[str, Any]:
    return {"ns": namespace, "now": now, "run": run_id}
