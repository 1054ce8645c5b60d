"""`cognos runs`: the instance's recent runs with id, job, status and duration."""

from __future__ import annotations

import typer
from rich.table import Table

from cognitionos_dagster.cli.output import command, console, print_json
from cognitionos_dagster.settings import load_settings


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


@command
def runs(
    limit: int = typer.Option(20, "--limit", "-n", min=1, help="How many runs, newest first."),
    job: str | None = typer.Option(None, "--job", "-j", help="Only runs of this job."),
    status: str | None = typer.Option(None, "--status", help="Only runs in this status (e.g. failure, queued)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON array."),
) -> None:
    """List recent runs (however they were launched): id, job, status, duration."""
    from cognitionos_dagster.defs.execution import open_instance
    from cognitionos_dagster.defs.runs import recent_runs
    from cognitionos_dagster.errors import ConfigError

    if status:
        import dagster as dg

        known = [s.value.lower() for s in dg.DagsterRunStatus]
        if status.lower() not in known:
            raise ConfigError(f"unknown run status {status!r}", hint=f"use one of {', '.join(known)}")
    instance = open_instance(load_settings())
    rows = recent_runs(instance, limit=limit, job=job, status=status)
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("no runs yet: `cognos run WORKFLOW`, the Launchpad or `dagster job launch` start one")
        return
    table = Table(box=None, pad_edge=False)
    for column in ("run id", "job", "status", "started", "duration"):
        table.add_column(column, no_wrap=True)
    for row in rows:
        started = (row["started_at"] or row["created_at"])[:19].replace("T", " ")
        table.add_row(row["run_id"], row["job"] + (f" [{row['partition']}]" if row["partition"] else ""),
                      row["status"].lower(), started, _duration(row["duration_seconds"]))
    console.print(table)
