"""One day's (or a range of days') agent metrics, computed in one SQL statement from the step records.

A task is one agent step that ended (`succeeded`, `failed`, `escalated`, or `skipped` by its
failure strategy) on that UTC day, by `completed_at`. The same SELECT serves `cognos metrics`
(read only) and the `agent_metrics` asset, which replaces the days' rows with it in one
transaction: a backfill of many days is one pass over the step table, not one query per day.

p95/p99 latency are nearest-rank percentiles (`percentile_disc`): the smallest recorded
latency with at least 95 % (99 %) of the day's latencies at or below it, so the figure is a
latency that really happened and a hand count over the sorted values reproduces it exactly.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from psycopg import sql

from cognitionos_dagster.db.connection import Database, DictConnection
from cognitionos_dagster.errors import ConfigError

TASK_STATUSES = ("succeeded", "failed", "escalated", "skipped")


@dataclass(frozen=True)
class MetricsRow:
    """One role and model on one day: the `agent_metrics` table's columns."""

    day: date
    agent_role: str
    model: str
    task_count: int
    avg_confidence: float | None
    avg_quality_score: float | None
    hallucination_rate: float | None
    avg_latency_ms: int | None
    p95_latency_ms: int | None
    p99_latency_ms: int | None
    avg_cost_per_task: float | None
    total_tokens_used: int
    success_rate: float
    retry_rate: float
    failure_rate: float

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "day": self.day.isoformat()}


# A step's grounding verdict (`hallucinated`, kept on the step row from its gate results by migration
# 0018's triggers) is NULL when its gate had no context to check against, so a day whose steps have
# no verdict at all averages to NULL ("no grounding signal"), never to a made-up 0.
#
# The groups are hashed on parallel workers, each group's latencies gathered into an array, and the
# two percentiles taken from that array afterwards, one small sort per group. Written as
# `percentile_disc(...) WITHIN GROUP` in the grouping itself, an ordered-set aggregate rules out
# hashing: every step would be sorted by group first, which was most of a backfill's time
# (docs/benchmarks.md). The hash plan relies on migration 0019's statistics on the grouping keys.
# Public for the test and the benchmark that look at its plan and its parts.
DAY_QUERY = """
    SELECT g.day, g.agent_role, g.model, g.task_count, g.avg_confidence, g.avg_quality_score,
           g.hallucination_rate, g.avg_latency_ms,
           round(p.latencies[1])::int AS p95_latency_ms, round(p.latencies[2])::int AS p99_latency_ms,
           g.avg_cost_per_task, g.total_tokens_used, g.success_rate, g.retry_rate, g.failure_rate
    FROM (
        SELECT (st.completed_at AT TIME ZONE 'UTC')::date AS day, st.agent_role, coalesce(st.model, '') AS model,
               count(*)::int AS task_count,
               avg(st.confidence) AS avg_confidence,
               avg(st.quality_score) AS avg_quality_score,
               avg(st.hallucinated::int)::float8 AS hallucination_rate,
               round(avg(st.latency_ms))::int AS avg_latency_ms,
               array_agg(st.latency_ms) FILTER (WHERE st.latency_ms IS NOT NULL) AS latencies,
               sum(st.cost_usd) / count(*) AS avg_cost_per_task,
               coalesce(sum(coalesce(st.input_tokens, 0) + coalesce(st.output_tokens, 0)), 0)::bigint
                   AS total_tokens_used,
               avg((st.status = 'succeeded')::int)::float8 AS success_rate,
               avg((st.attempts > 1)::int)::float8 AS retry_rate,
               avg((st.status <> 'succeeded')::int)::float8 AS failure_rate
        FROM workflow_execution_steps st
        WHERE st.agent_role IS NOT NULL AND st.completed_at >= %(start)s AND st.completed_at < %(end)s
          AND st.status = ANY(%(statuses)s) AND (%(role)s::text IS NULL OR st.agent_role = %(role)s)
        GROUP BY (st.completed_at AT TIME ZONE 'UTC')::date, st.agent_role, coalesce(st.model, '')
    ) g
    CROSS JOIN LATERAL (
        SELECT percentile_disc(ARRAY[0.95, 0.99]) WITHIN GROUP (ORDER BY x) AS latencies FROM unnest(g.latencies) x
    ) p
    ORDER BY g.day, g.agent_role COLLATE "C", g.model COLLATE "C"
"""


# The grouping holds every step's latency until its group is done; PostgreSQL's default 4 MB would
# spill it to disk. Set for the statement's transaction only.
_WORK_MEM = "SET LOCAL work_mem = '256MB'"


def day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """[first 00:00 UTC, the day after last 00:00 UTC)."""
    return datetime.combine(first, time(), UTC), datetime.combine(last + timedelta(days=1), time(), UTC)


def check_day(day: date, *, today: date | None = None) -> date:
    """A day whose metrics can exist: not after today (UTC)."""
    today = today or datetime.now(UTC).date()
    if day > today:
        raise ConfigError(f"{day.isoformat()} is in the future (today is {today.isoformat()} UTC)",
                          hint="pass --day with today's date or an earlier one")
    return day


def day_parameters(first: date, last: date | None = None, role: str | None = None) -> dict[str, Any]:
    """DAY_QUERY's parameters for the days first..last (inclusive), one role or all."""
    start, end = day_bounds(first, last or first)
    return {"start": start, "end": end, "statuses": list(TASK_STATUSES), "role": role}


def _computed(conn: DictConnection, first: date, last: date | None, role: str | None) -> list[dict[str, Any]]:
    conn.execute(_WORK_MEM)
    return conn.execute(DAY_QUERY, day_parameters(first, last, role)).fetchall()


def compute(db: Database, first: date, last: date | None = None, *, role: str | None = None) -> list[MetricsRow]:
    """The rows for the days first..last (inclusive), ordered by day, role, model; nothing is written."""
    with db.connection() as conn:
        return [MetricsRow(**row) for row in _computed(conn, first, last, role)]


def materialize(db: Database, first: date, last: date | None = None) -> list[MetricsRow]:
    """Replace the `agent_metrics` rows of the days first..last with freshly computed ones, atomically.

    Other days' rows are untouched; a day without tasks ends with no rows (never zero rows of figures).
    """
    start, end = day_bounds(first, last or first)
    columns = [f for f in MetricsRow.__dataclass_fields__ if f != "day"]
    insert = sql.SQL(
        "INSERT INTO agent_metrics (time_window_start, time_window_end, {columns}) VALUES ({values})"
    ).format(
        columns=sql.SQL(", ").join(map(sql.Identifier, columns)),
        values=sql.SQL(", ").join(sql.Placeholder() * (len(columns) + 2)))
    with db.connection() as conn:
        # A plain SELECT, then the rows inserted: PostgreSQL never runs the SELECT of an INSERT ... SELECT
        # in parallel, and over a month of steps the parallel scan and sort are most of the time.
        computed = _computed(conn, first, last, None)
        conn.execute("DELETE FROM agent_metrics WHERE time_window_start >= %s AND time_window_start < %s",
                     (start, end))
        with conn.cursor() as cursor:
            cursor.executemany(insert, [(*day_bounds(row["day"], row["day"]), *(row[c] for c in columns))
                                        for row in computed])
    return stored(db, first, last)  # as the table holds them (its column types round some figures)


def stored(db: Database, first: date, last: date | None = None) -> list[MetricsRow]:
    """The rows the asset last wrote for those days."""
    start, end = day_bounds(first, last or first)
    columns = ", ".join(f for f in MetricsRow.__dataclass_fields__ if f != "day")
    rows = db.fetch_all(
        f"""
        SELECT (time_window_start AT TIME ZONE 'UTC')::date AS day, {columns} FROM agent_metrics
        WHERE time_window_start >= %s AND time_window_start < %s ORDER BY 1, agent_role, model
        """,
        (start, end),
    )
    return [MetricsRow(**row) for row in rows]
