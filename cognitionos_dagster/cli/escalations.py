"""`cognos escalations list [--open] | resolve ID --note TEXT`: the people's side of `on_failure: escalate`."""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from cognitionos_dagster.cli.output import command, console, print_json
from cognitionos_dagster.errors import CognitionOSError
from cognitionos_dagster.settings import load_settings

if TYPE_CHECKING:
    from cognitionos_dagster.db.repositories.escalations import EscalationRepository

app = typer.Typer(help="Escalations left by steps whose failure strategy is `escalate`.", no_args_is_help=True)


def _repo() -> EscalationRepository:
    from cognitionos_dagster.db import migrate
    from cognitionos_dagster.db.connection import Database
    from cognitionos_dagster.db.repositories.escalations import EscalationRepository

    return EscalationRepository(Database(migrate.ready(load_settings()).app_url))


@app.command(name="list")
@command
def list_(
    open_only: bool = typer.Option(False, "--open", help="Only escalations nobody resolved yet."),
    limit: int = typer.Option(50, "--limit", "-n", min=1),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Newest first: id, status, workflow, run, step and error."""
    rows = _repo().list(open_only=open_only, limit=limit)
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("no open escalations" if open_only else "no escalations")
        return
    table = Table(box=None, pad_edge=False)
    for column in ("id", "status", "created", "workflow", "run", "step", "error"):
        table.add_column(column, no_wrap=column != "error")
    for r in rows:
        workflow = f"{r['workflow_id'] or '-'}@{r['workflow_version'] or '-'}"
        error = (r["error"] or r["reason"] or "").strip().splitlines()[0][:120] if (r["error"] or r["reason"]) else ""
        table.add_row(str(r["id"]), r["status"], str(r["created_at"])[:19], workflow, r["run_id"], r["step_id"], error)
    console.print(table)


@app.command()
@command
def resolve(
    escalation_id: str = typer.Argument(..., help="The id from `cognos escalations list`."),
    note: str = typer.Option(..., "--note", help="What was done about it (kept with the escalation)."),
    by: str = typer.Option(None, "--by", help="Who resolved it (default: the login name)."),
) -> None:
    """Mark an open escalation resolved, with a note."""
    repo = _repo()
    if repo.get(escalation_id) is None:
        raise CognitionOSError(f"no escalation {escalation_id}", hint="copy the id from `cognos escalations list`")
    if not repo.resolve(escalation_id, by=by or getpass.getuser(), note=note):
        raise CognitionOSError(f"escalation {escalation_id} is already resolved")
    console.print(f"resolved {escalation_id}")
