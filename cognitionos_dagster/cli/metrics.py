"""`cognos metrics`: a day's agent metrics, computed by the same SQL as the `agent_metrics` asset."""

from __future__ import annotations

from datetime import UTC, date, datetime

import typer
from rich.table import Table

from cognitionos_dagster.cli.output import command, console, print_json
from cognitionos_dagster.db import migrate, server
from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.errors import ConfigError
from cognitionos_dagster.metrics.daily import check_day, compute
from cognitionos_dagster.metrics.report import COLUMNS, table_rows
from cognitionos_dagster.settings import load_settings


def _day(text: str | None) -> date:
    if text is None:
        return datetime.now(UTC).date()
    try:
        return check_day(date.fromisoformat(text))
    except ValueError:
        raise ConfigError(f"--day {text!r} is not a date", hint="write it as YYYY-MM-DD") from None


@command
def metrics(
    day: str | None = typer.Option(None, "--day", help="UTC day YYYY-MM-DD (default: today so far)."),
    role: str | None = typer.Option(None, "--role", help="Only this agent role."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """A day's agent metrics per role and model (what the agent_metrics asset writes for that day)."""
    when = _day(day)
    url = server.resolve(load_settings()).app_url
    migrate.require_head(url)
    rows = compute(Database(url), when, role=role)
    if as_json:
        print_json({"day": when.isoformat(), "role": role, "no_data": not rows, "rows": [r.as_json() for r in rows]})
        return
    if not rows:
        console.print(f"no data for {when.isoformat()}" + (f" (role {role})" if role else ""))
        return
    table = Table(*COLUMNS[1:], title=f"agent metrics {when.isoformat()} (UTC)")
    for cells in table_rows(rows):
        table.add_row(*cells[1:])
    console.print(table)
