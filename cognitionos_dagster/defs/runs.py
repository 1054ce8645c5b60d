"""Recent runs of the instance, however they were launched (UI, `dagster job launch`, schedules,
`cognos run`): `dagster job launch` prints no run id, so this listing is where a user finds it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import dagster as dg

from cognitionos_dagster.compiler.names import TAG_WORKFLOW_ID, TAG_WORKFLOW_VERSION


def recent_runs(instance: dg.DagsterInstance, *, limit: int = 20, job: str | None = None,
                status: str | None = None) -> list[dict[str, Any]]:
    """Newest first: id, job, workflow, status, when it started and how long it took (so far)."""
    filters = dg.RunsFilter(
        job_name=job,
        statuses=[dg.DagsterRunStatus(status.upper())] if status else None,
    )
    now = datetime.now(UTC).timestamp()
    rows: list[dict[str, Any]] = []
    for record in instance.get_run_records(filters=filters, limit=limit):
        run = record.dagster_run
        started, ended = record.start_time, record.end_time
        duration = None if started is None else (ended or now) - started
        workflow = run.tags.get(TAG_WORKFLOW_ID)
        rows.append({
            "run_id": run.run_id,
            "job": run.job_name,
            "workflow": f"{workflow}@{run.tags.get(TAG_WORKFLOW_VERSION, '')}" if workflow else None,
            "status": run.status.value,
            "created_at": _utc(record.create_timestamp).isoformat(),
            "started_at": datetime.fromtimestamp(started, UTC).isoformat() if started else None,
            "duration_seconds": round(duration, 3) if duration is not None else None,
            "partition": run.tags.get("dagster/partition"),
        })
    return rows


def _utc(stamp: datetime) -> datetime:
    """Dagster's run storage keeps naive UTC timestamps."""
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
