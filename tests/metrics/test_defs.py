"""The agent_metrics asset, its budget checks and schedule on a real Dagster instance (PostgreSQL storage)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import pytest

from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.defs.metrics import (
    agent_metrics,
    agent_metrics_schedule,
    budget_checks,
    metrics_definitions,
)
from cognitionos_dagster.integrations.database import DatabaseResource
from cognitionos_dagster.settings import PROJECT_ROOT

Seed = Callable[..., None]
DAY = date(2026, 11, 10)


@pytest.fixture
def resources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shipped resources, with budgets on `default` and the planner held to `strict`."""
    root = tmp_path / "resources"
    shutil.copytree(PROJECT_ROOT / "resources", root)
    with (root / "policies" / "quality" / "default.yaml").open("a") as f:
        f.write("min_success_rate: 0.9\nmax_p95_latency_ms: 1000\nmin_avg_quality: 0.6\n"
                "max_hallucination_rate: 0.1\n")
    with (root / "policies" / "quality" / "strict.yaml").open("a") as f:
        f.write("min_success_rate: 0.99\nmax_cost_per_task_usd: 0.05\n")
    with (root / "agents" / "planner.yaml").open("a") as f:
        f.write("quality_policy: strict\n")
    monkeypatch.setenv("COGNITIONOS_RESOURCES_DIR", str(root))
    return root


def _run(instance: dg.DagsterInstance, url: str, **kwargs: object) -> dg.ExecuteInJobResult:
    return dg.materialize([agent_metrics, *budget_checks], instance=instance,
                          resources={"db": DatabaseResource(database_url=url)}, raise_on_error=False,
                          **kwargs)


def _checks(result: dg.ExecuteInJobResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_a_day_materialises_with_headline_metadata_and_checks(dagster_instance: dg.DagsterInstance,
                                                             database_url: str, db: Database, seed: Seed,
                                                             resources: Path) -> None:
    seed(DAY, "planner", [100.0, 200.0, 300.0], statuses=["succeeded", "succeeded", "failed"],
         costs=[0.01, 0.02, 0.03])
    seed(DAY, "critic", [400.0, 1800.0], quality=[0.4, 0.5])
    result = _run(dagster_instance, database_url, partition_key=DAY.isoformat())
    assert result.success
    meta = result.asset_materializations_for_node("agent_metrics")[0].metadata
    assert meta["tasks"].value == 5 and meta["rows"].value == 2
    assert meta["success_rate"].value == pytest.approx(4 / 5)
    assert meta["worst_p95_latency_ms"].value == 1800
    assert "hallucination_rate" not in meta  # no grounding signal: left out, not 0
    assert "| critic | gpt-4o-mini | 2 |" in meta["per_role"].value

    checks = _checks(result)
    assert set(checks) == {"success_rate_budget", "p95_latency_budget", "cost_per_task_budget",
                           "avg_quality_budget", "hallucination_rate_budget"}
    success = checks["success_rate_budget"]
    assert not success.passed
    assert "planner/gpt-4o-mini on 2026-11-10: 66.7% < 99.0% (min_success_rate of policy strict)" in (
        success.description or "")
    assert "critic" not in (success.description or "")  # 100 % >= the default's 90 %
    assert not checks["p95_latency_budget"].passed and "critic" in (checks["p95_latency_budget"].description or "")
    assert "planner" not in (checks["p95_latency_budget"].description or "")  # strict sets no latency budget
    assert checks["cost_per_task_budget"].passed and checks["cost_per_task_budget"].metadata["judged"].value == 1
    assert not checks["avg_quality_budget"].passed and "critic/gpt-4o-mini on 2026-11-10: 0.450 < 0.600" in (
        checks["avg_quality_budget"].description or "")
    hallucination = checks["hallucination_rate_budget"]
    assert hallucination.passed and hallucination.metadata["status"].text == "no budget, no grounding signal"
    assert [r["agent_role"] for r in db.fetch_all("SELECT agent_role FROM agent_metrics ORDER BY 1")] == [
        "critic", "planner"]


def test_checks_pass_within_budget_and_say_no_data(dagster_instance: dg.DagsterInstance, database_url: str,
                                                   seed: Seed, resources: Path) -> None:
    seed(DAY, "executor", [100.0, 200.0], quality=[0.9, 0.9])
    checks = _checks(_run(dagster_instance, database_url, partition_key=DAY.isoformat()))
    assert all(c.passed for c in checks.values())
    assert checks["success_rate_budget"].metadata["status"].text == "ok"
    assert checks["cost_per_task_budget"].metadata["status"].text == "no budget"

    empty = _run(dagster_instance, database_url, partition_key="2026-11-01")
    assert empty.success
    meta = empty.asset_materializations_for_node("agent_metrics")[0].metadata
    assert meta["rows"].value == 0 and "tasks" not in meta and "no data" in meta["per_role"].value
    for check in _checks(empty).values():
        assert check.metadata["status"].text == "no data" and check.description == "no data"


def test_a_range_is_one_run_over_every_day(dagster_instance: dg.DagsterInstance, database_url: str, db: Database,
                                           seed: Seed, resources: Path) -> None:
    for offset, n in ((8, 1), (9, 2), (10, 3)):
        seed(date(2026, 11, offset), "executor", [100.0] * n)
    result = _run(dagster_instance, database_url,
                  tags={"dagster/asset_partition_range_start": "2026-11-08",  # what a single-run backfill sets
                        "dagster/asset_partition_range_end": "2026-11-10"})
    assert result.success
    partitions = sorted(m.partition for m in result.asset_materializations_for_node("agent_metrics"))
    assert partitions == ["2026-11-08", "2026-11-09", "2026-11-10"]
    assert db.fetch_all("SELECT task_count FROM agent_metrics ORDER BY time_window_start") == [
        {"task_count": 1}, {"task_count": 2}, {"task_count": 3}]


def test_definitions_schedule_fills_yesterday() -> None:
    defs = dg.Definitions.merge(metrics_definitions(), dg.Definitions(resources={"db": DatabaseResource()}))
    assert agent_metrics.backfill_policy == dg.BackfillPolicy.single_run()
    assert defs.resolve_job_def("agent_metrics_daily") is not None
    context = dg.build_schedule_context(scheduled_execution_time=datetime(2026, 12, 5, 0, 15, tzinfo=UTC))
    schedule = defs.resolve_schedule_def(agent_metrics_schedule.name)
    requests = schedule.evaluate_tick(context).run_requests or []
    assert [r.partition_key for r in requests] == ["2026-12-04"]
