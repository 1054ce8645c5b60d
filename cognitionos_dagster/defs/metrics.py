"""Agent metrics as a daily-partitioned asset, with one asset check per budget kind.

A backfill of many days runs as one run over the whole range (`BackfillPolicy.single_run`),
which the SQL computes in one pass. Dagster records one materialization per day of the
range with the run's metadata, so only a one-day run carries the headline figures that the
asset's plots show per day; a range run shows a per-day table instead.
"""


import warnings
from collections.abc import Sequence
from datetime import date

import dagster as dg

from cognitionos_dagster.integrations.database import DatabaseResource
from cognitionos_dagster.metrics.budgets import BUDGETS, BudgetKind, judge, role_policies
from cognitionos_dagster.metrics.daily import MetricsRow, materialize, stored
from cognitionos_dagster.metrics.report import headline, markdown_table
from cognitionos_dagster.settings import load_settings

METRICS_START = "2026-01-01"
METRICS_PARTITIONS = dg.DailyPartitionsDefinition(start_date=METRICS_START, timezone="UTC")

# Partitioned checks (preview) and backfill policies (beta) are what a daily rollup needs; those two
# warnings only are silenced.
warnings.filterwarnings(
    "ignore", message="Specifying a partitions_def on an AssetCheckSpec", category=dg.PreviewWarning
)
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)


def _days(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> tuple[date, date]:
    """The first and last day of the run's partition (or partition range, in a single-run backfill)."""
    keys = context.partition_key_range
    return date.fromisoformat(keys.start), date.fromisoformat(keys.end)


@dg.asset(
    partitions_def=METRICS_PARTITIONS,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="metrics",
    kinds={"postgres"},
    description="Per agent role and model, one UTC day of tasks: counts, confidence, quality, latency "
    "(avg, nearest-rank p95/p99), cost per task, tokens, success/retry/failure rates.",
)
def agent_metrics(context: dg.AssetExecutionContext, db: DatabaseResource) -> dg.MaterializeResult:
    first, last = _days(context)
    rows = materialize(db.database(), first, last)
    metadata: dict[str, dg.RawMetadataValue] = {"days": (last - first).days + 1, "rows": len(rows)}
    if first == last:
        metadata.update(headline(rows))
    metadata["per_role"] = dg.MetadataValue.md(markdown_table(rows) if rows else f"no data for {first}..{last}")
    return dg.MaterializeResult(metadata=metadata)


def _budget_check(kind: BudgetKind) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=agent_metrics, name=kind.name, partitions_def=METRICS_PARTITIONS,
        description=f"Every role's row stays within its quality policy's `{kind.field}`.",
    )
    def _check(context: dg.AssetCheckExecutionContext, db: DatabaseResource) -> dg.AssetCheckResult:
        first, last = _days(context)
        rows: Sequence[MetricsRow] = stored(db.database(), first, last)
        verdict = judge(kind, rows, role_policies(load_settings().resources_dir))
        return dg.AssetCheckResult(
            passed=verdict.passed,
            description=verdict.summary,
            metadata={
                "status": verdict.status,
                "breaches": dg.MetadataValue.md("\n".join(f"- {b}" for b in verdict.breaches) or "none"),
                "judged": len(verdict.judged),
                "not_judged": dg.MetadataValue.md("\n".join(f"- {u}" for u in verdict.unjudged) or "none"),
            },
        )

    return _check


budget_checks = [_budget_check(kind) for kind in BUDGETS]

agent_metrics_job = dg.define_asset_job(
    "agent_metrics_daily",
    selection=dg.AssetSelection.assets(agent_metrics),
    description="Computes one day of agent metrics (the partition) and checks it against the budgets.",
    tags={"cognitionos/kind": "metrics"},
)

agent_metrics_schedule = dg.build_schedule_from_partitioned_job(
    agent_metrics_job, name="agent_metrics_yesterday", hour_of_day=0, minute_of_hour=15,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Fills yesterday's agent_metrics partition a quarter of an hour after midnight UTC.",
)


def metrics_definitions() -> dg.Definitions:
    return dg.Definitions(assets=[agent_metrics], asset_checks=budget_checks, jobs=[agent_metrics_job],
                          schedules=[agent_metrics_schedule])
