"""Writing an escalation row: what the `escalate` failure strategy leaves for a person to resolve."""

from __future__ import annotations

from typing import Any

from psycopg.types.json import Jsonb

from cognitionos_dagster.db.connection import Database


def record_escalation(
    db: Database,
    *,
    run_id: str,
    step_id: str,
    reason: str,
    error: str | None = None,
    workflow_id: str | None = None,
    workflow_version: str | None = None,
    severity: str = "high",
    context: dict[str, Any] | None = None,
) -> str:
    """Returns the escalation id."""
    row = db.fetch_one(
        """
        INSERT INTO escalations (run_id, workflow_id, workflow_version, step_id, reason, error, severity, context)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id
        """,
        (run_id, workflow_id, workflow_version, step_id, reason, error, severity, Jsonb(context or {})),
    )
    assert row is not None
    return str(row["id"])
