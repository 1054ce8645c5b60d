"""Agent metrics benchmark: one day's partition and a 30-day backfill over a 1,000,000-row step table.

    .venv/bin/python -m bench.bench_metrics            # 1,000,000 agent steps over 30 days
    .venv/bin/python -m bench.bench_metrics --quick    # 100,000 steps

Steps are generated in SQL in completion order (as a live system appends them): 6 roles, 2
models, latencies log-normal-ish, ~8 % failures, ~10 % retries, one execution row per 20
steps, then vacuumed (as a live table's older rows are, and so that autovacuum does not start
on the fresh rows mid-measurement). Targets: one day's partition (delete + recompute + insert,
the asset's whole database work) <= 0.3 s; the 30-day backfill (the same, as one statement
over the range) <= 1.5x one plain `GROUP BY day` aggregate over the same rows, measured
interleaved in the same database.

Printed beside it, no targets: the metrics statement itself over the 30 days (`compute`, read only;
the backfill against it is what writing the days costs), and the same grouping with every figure but
p95/p99 (how much of the gap to the plain GROUP BY is the percentiles).
"""

from __future__ import annotations

import argparse
from datetime import date, timedelta

from bench._common import Verdicts, medians, table, temp_database
from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.metrics import daily
from cognitionos_dagster.metrics.daily import compute, day_bounds, materialize

FIRST = date(2026, 10, 1)
DAYS = 30

GENERATE = """
INSERT INTO workflow_executions (run_id, workflow_id, workflow_version, status)
SELECT 'run-' || g, 'wf', '1.0.0', 'succeeded' FROM generate_series(0, %(n)s / 20) g;
INSERT INTO workflow_execution_steps (execution_id, step_id, step_type, status, started_at, completed_at,
    agent_role, model, input_tokens, output_tokens, cost_usd, latency_ms, confidence, quality_score, attempts)
SELECT 'run-' || (i / 20), 's' || (i % 20), 'agent',
       CASE WHEN r < 0.08 THEN 'failed' ELSE 'succeeded' END,
       t - make_interval(secs => 2), t,
       (ARRAY['planner','executor','critic','summarizer','researcher','reviewer'])[1 + i % 6],
       (ARRAY['gpt-4o-mini','gpt-4o'])[1 + (i / 6) % 2],
       200 + i % 800, 50 + i % 300, 0.0001 * (1 + i % 50), round(exp(5 + 1.5 * random())::numeric, 1),
       0.5 + 0.5 * random(), 0.4 + 0.6 * random(), CASE WHEN r > 0.9 THEN 2 ELSE 1 END
FROM (SELECT i, random() AS r,
             %(start)s::timestamptz + (i::float8 / %(n)s) * interval '%(days)s days' AS t
      FROM generate_series(0, %(n)s - 1) i) src;
VACUUM ANALYZE workflow_execution_steps;
"""

GROUP_BY_DAY = """
SELECT (completed_at AT TIME ZONE 'UTC')::date AS day, count(*), avg(latency_ms), avg(confidence),
       avg(quality_score), sum(cost_usd), sum(input_tokens + output_tokens)
FROM workflow_execution_steps
WHERE agent_role IS NOT NULL AND completed_at >= %s AND completed_at < %s
GROUP BY 1
"""


def without_percentiles() -> str:
    """The metrics statement's grouping with every figure but p95/p99: its inner SELECT, minus the
    latencies array the percentiles are taken from. Fails loudly when the statement changes shape."""
    query = daily.DAY_QUERY
    start, end = query.index("SELECT (st.completed_at"), query.index(") g\n")
    latencies = "array_agg(st.latency_ms) FILTER (WHERE st.latency_ms IS NOT NULL) AS latencies,"
    inner = query[start:end]
    if latencies not in inner:
        raise RuntimeError("the metrics statement changed shape: update without_percentiles()")
    return inner.replace(latencies, "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke run: 100,000 steps")
    args = parser.parse_args()
    n = 100_000 if args.quick else 1_000_000
    verdicts = Verdicts()
    with temp_database(migrated=True) as url:
        db = Database(url)
        start, end = day_bounds(FIRST, FIRST + timedelta(days=DAYS - 1))
        with db.autocommit() as conn:
            for statement in GENERATE.replace(" % ", " %% ").replace("%(days)s", str(DAYS)).split(";"):
                if statement.strip():
                    conn.execute(statement, {"n": n, "start": start})
        last = FIRST + timedelta(days=DAYS - 1)
        no_percentiles = without_percentiles()
        middle = FIRST + timedelta(days=DAYS // 2)
        times = medians({
            "one day's partition": lambda: materialize(db, middle),
            "30-day backfill (one pass)": lambda: materialize(db, FIRST, last),
            "baseline: one GROUP BY day": lambda: db.fetch_all(GROUP_BY_DAY, (start, end)),
            "the metrics statement over 30 days, read only": lambda: compute(db, FIRST, last),
            "the same, every figure but p95/p99": lambda: db.fetch_all(no_percentiles,
                                                                        daily.day_parameters(FIRST, last)),
        }, runs=3 if args.quick else 5)
        rows = db.fetch_one("SELECT count(*) AS n FROM agent_metrics")
        table(f"agent_metrics over {n:,} steps, {DAYS} days ({rows['n'] if rows else 0} metric rows)",
              ("case", "median s"), [(k, v) for k, v in times.items()])
        day_s = times["one day's partition"]
        backfill, bare = times["30-day backfill (one pass)"], times["baseline: one GROUP BY day"]
        read_only = times["the metrics statement over 30 days, read only"]
        ratio = backfill / bare
        table("against one plain GROUP BY day", ("case", "ratio"), [
            ("30-day backfill (the target)", f"{ratio:.2f}x"),
            ("the metrics statement, read only", f"{read_only / bare:.2f}x"),
            ("every figure but p95/p99", f"{times['the same, every figure but p95/p99'] / bare:.2f}x"),
        ])
        table("30-day backfill against the metrics statement, read only", ("what", "ratio"), [
            ("writing the days", f"{backfill / read_only:.2f}x")])
        verdicts.check("one day's partition <= 0.3 s", day_s <= 0.3, f"{day_s:.3f} s")
        verdicts.check("30-day backfill <= 1.5x one GROUP BY day", ratio <= 1.5, f"{ratio:.2f}x")
    verdicts.exit(quick=args.quick)


if __name__ == "__main__":
    main()
