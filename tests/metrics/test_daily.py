"""The SQL figures against values computed by hand on a seeded table."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Any

import pytest

from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.errors import ConfigError
from cognitionos_dagster.metrics.daily import DAY_QUERY, check_day, compute, day_parameters, materialize, stored

Seed = Callable[..., None]
DAY = date(2026, 11, 10)
LATENCIES = [float(v) for v in (900, 120, 450, 300, 75, 1500, 610, 220, 380, 1010, 95, 130, 770, 240, 560,
                                 330, 410, 180, 2600, 505, 610, 710)]


def nearest_rank(values: list[float], p: float) -> int:
    """The smallest value with at least p of the values at or below it (percentile_disc)."""
    ordered = sorted(values)
    return int(ordered[math.ceil(p * len(ordered)) - 1])


def test_figures_match_a_hand_count(db: Database, seed: Seed) -> None:
    n = len(LATENCIES)
    statuses = ["succeeded"] * 17 + ["failed", "escalated", "skipped", "succeeded", "failed"]
    costs = [0.002 * (i + 1) for i in range(n)]
    quality = [0.5 + 0.02 * i for i in range(n)]
    attempts = [1] * 19 + [2, 3, 1]
    seed(DAY, "planner", LATENCIES, statuses=statuses, costs=costs, quality=quality, attempts=attempts)
    seed(DAY, "critic", [100.0, 300.0], model="gpt-4o", costs=[0.5, None])
    seed(DAY, "planner", [5000.0], statuses=["running"])  # not ended: not a task

    rows = {(r.agent_role, r.model): r for r in compute(db, DAY)}
    planner = rows[("planner", "gpt-4o-mini")]
    assert planner.task_count == n
    assert planner.p95_latency_ms == nearest_rank(LATENCIES, 0.95) == 1500
    assert planner.p99_latency_ms == nearest_rank(LATENCIES, 0.99) == 2600
    assert planner.avg_latency_ms == round(sum(LATENCIES) / n)
    assert planner.success_rate == pytest.approx(18 / n)
    assert planner.failure_rate == pytest.approx(4 / n)
    assert planner.retry_rate == pytest.approx(2 / n)
    assert planner.avg_cost_per_task == pytest.approx(sum(costs) / n)
    assert planner.avg_quality_score == pytest.approx(sum(quality) / n)
    assert planner.avg_confidence == pytest.approx(0.9)
    assert planner.total_tokens_used == 120 * n
    assert planner.hallucination_rate is None  # no grounding signal yet: never a made-up 0
    critic = rows[("critic", "gpt-4o")]
    assert critic.task_count == 2 and critic.avg_cost_per_task == pytest.approx(0.25)
    assert critic.p95_latency_ms == 300 and critic.p99_latency_ms == 300
    assert [r.agent_role for r in compute(db, DAY, role="critic")] == ["critic"]


def test_rerunning_a_day_replaces_it_and_leaves_other_days_alone(db: Database, seed: Seed) -> None:
    other = date(2026, 11, 9)
    seed(other, "planner", [100.0, 200.0])
    seed(DAY, "planner", [100.0])
    materialize(db, other, DAY)
    assert [(r.day, r.task_count) for r in stored(db, other, DAY)] == [(other, 2), (DAY, 1)]
    before = db.fetch_one("SELECT id, created_at FROM agent_metrics WHERE time_window_start < %s", (DAY,))

    seed(DAY, "planner", [300.0, 400.0])
    seed(DAY, "executor", [50.0])
    materialize(db, DAY)
    assert [(r.day, r.agent_role, r.task_count) for r in stored(db, other, DAY)] == [
        (other, "planner", 2), (DAY, "executor", 1), (DAY, "planner", 3)]
    assert db.fetch_one("SELECT id, created_at FROM agent_metrics WHERE time_window_start < %s", (DAY,)) == before
    assert db.fetch_one("SELECT count(*) AS n FROM agent_metrics")["n"] == 3


def test_a_day_without_tasks_has_no_rows_not_zeros(db: Database, seed: Seed) -> None:
    seed(DAY, "planner", [100.0])
    materialize(db, DAY)
    seed(DAY, "planner", [100.0], statuses=["running"])
    db.execute("DELETE FROM workflow_execution_steps WHERE status = 'succeeded'")
    assert compute(db, DAY) == [] and materialize(db, DAY) == [] and stored(db, DAY) == []


def test_a_future_day_is_an_error() -> None:
    with pytest.raises(ConfigError, match="2026-12-06 is in the future"):
        check_day(date(2026, 12, 6), today=date(2026, 12, 5))
    assert check_day(date(2026, 12, 5), today=date(2026, 12, 5)) == date(2026, 12, 5)


def test_hallucination_rate_comes_from_the_gate_results_once_they_carry_a_verdict(db: Database,
                                                                                 seed: Seed) -> None:
    seed(DAY, "planner", [100.0] * 4)
    assert compute(db, DAY)[0].hallucination_rate is None  # no grounding verdict yet: NULL, not 0
    for step, flag in (("s0", True), ("s1", False), ("s2", False)):  # s3 has no verdict: left out
        db.execute("INSERT INTO quality_gate_results (run_id, step_id, agent_role, passed, hallucinated) "
                   "SELECT execution_id, step_id, agent_role, true, %s FROM workflow_execution_steps "
                   "WHERE step_id = %s", (flag, step))
    assert compute(db, DAY)[0].hallucination_rate == pytest.approx(1 / 3)


def test_a_verdict_recorded_before_its_step_row_counts_and_a_rerecorded_step_keeps_it(db: Database,
                                                                                      seed: Seed) -> None:
    """The gate may write its result before the step's row exists (the row then starts from it), and
    recording the step again (its final status) must not drop the verdict."""
    db.execute("INSERT INTO quality_gate_results (run_id, step_id, agent_role, passed, hallucinated) "
               "VALUES ('run-early', 's0', 'planner', true, false), ('run-early', 's0', 'planner', true, true)")
    seed(DAY, "planner", [100.0, 100.0])
    db.execute("INSERT INTO workflow_executions (run_id, workflow_id, workflow_version, status) "
               "VALUES ('run-early', 'wf', '1.0.0', 'succeeded')")
    upsert = ("INSERT INTO workflow_execution_steps (execution_id, step_id, step_type, status, completed_at, "
              "agent_role, latency_ms) VALUES ('run-early', 's0', 'agent', %s, %s, 'planner', 100) "
              "ON CONFLICT (execution_id, step_id) DO UPDATE SET status = EXCLUDED.status")
    noon = datetime.combine(DAY, time(12), UTC)
    db.execute(upsert, ("succeeded", noon))
    db.execute(upsert, ("succeeded", noon))  # recorded again
    row = db.fetch_one("SELECT hallucinated FROM workflow_execution_steps WHERE execution_id = 'run-early'")
    assert row == {"hallucinated": True}
    assert compute(db, DAY)[0].hallucination_rate == pytest.approx(1.0)  # the seeded steps have no verdict


def test_steps_without_a_latency_count_as_tasks_but_not_in_the_percentiles(db: Database, seed: Seed) -> None:
    seed(DAY, "planner", [None, 400.0, None, 100.0, 200.0])
    seed(DAY, "critic", [None, None])
    rows = {r.agent_role: r for r in compute(db, DAY)}
    assert rows["planner"].task_count == 5
    assert (rows["planner"].p95_latency_ms, rows["planner"].p99_latency_ms) == (400, 400)
    assert rows["planner"].avg_latency_ms == round(700 / 3)
    assert rows["critic"].task_count == 2
    assert (rows["critic"].p95_latency_ms, rows["critic"].p99_latency_ms, rows["critic"].avg_latency_ms) == (
        None, None, None)


def _plan_nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    children = plan.get("Plans") or []
    return [plan, *(node for child in children for node in _plan_nodes(child))]


def test_the_steps_are_grouped_by_hashing_not_sorted(db: Database) -> None:
    """Migration 0019's statistics tell the planner a month of steps forms few groups, so it hashes them;
    without them it guessed a group per few steps and sorted every step (docs/benchmarks.md)."""
    first, last = date(2026, 10, 1), date(2026, 10, 30)
    db.execute("INSERT INTO workflow_executions (run_id, workflow_id, workflow_version, status) "
               "VALUES ('run-plan', 'wf', '1.0.0', 'succeeded')")
    db.execute(
        """
        INSERT INTO workflow_execution_steps (execution_id, step_id, step_type, status, completed_at,
            agent_role, model, latency_ms)
        SELECT 'run-plan', 's' || i, 'agent', 'succeeded', %s::timestamptz + i * interval '1 minute',
               (ARRAY['planner', 'critic', 'executor'])[1 + i %% 3], 'gpt-4o-mini', 100 + i %% 700
        FROM generate_series(0, 30 * 24 * 60 - 1) i
        """,
        (datetime.combine(first, time(), UTC),),
    )
    db.execute("ANALYZE workflow_execution_steps")
    with db.connection() as conn:
        row = conn.execute("EXPLAIN (FORMAT JSON) " + DAY_QUERY, day_parameters(first, last)).fetchone()
    assert row is not None
    nodes = _plan_nodes(row["QUERY PLAN"][0]["Plan"])
    grouping = [n for n in nodes if n["Node Type"] == "Aggregate" and "Group Key" in n]
    assert grouping, nodes
    assert all(n["Strategy"] == "Hashed" or n.get("Partial Mode") == "Finalize" for n in grouping), grouping
    assert not [n for n in nodes if n["Node Type"] == "Sort" and n.get("Plan Rows", 0) > 1_000], nodes
