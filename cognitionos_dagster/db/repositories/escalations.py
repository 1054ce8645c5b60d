"""Escalations: a step whose failure strategy is `escalate` leaves a row for a person to act on."""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any, TypedDict, cast
from uuid import UUID

from psycopg.types.json import Jsonb

from cognitionos_dagster.db.connection import Database


class EscalationRow(TypedDict):
    """A row of `escalations` (migration 0006), as `SELECT *` returns it."""

    id: UUID
    run_id: str
    workflow_id: str | None
    workflow_version: str | None
    step_id: str
    reason: str
    error: str | None
    severity: str
    status: str
    context: dict[str, Any]
    created_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None


class EscalationRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def open(
        self,
        *,
        run_id: str,
        step_id: str,
        reason: str,
        error: str | None = None,
        workflow_id: str | None = None,
        workflow_version: str | None = None,
        context: dict[str, Any] | None = None,
        severity: str = "high",
    ) -> str:
        row = self.db.fetch_one(
            """
            INSERT INTO escalations (run_id, workflow_id, workflow_version, step_id, reason, error, severity, context)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id
            """,
            (run_id, workflow_id, workflow_version, step_id, reason, error, severity, Jsonb(context or {})),
        )
        assert row is not None
        return str(row["id"])

    def for_run(self, run_id: str) -> list[EscalationRow]:
        return self._rows("SELECT * FROM escalations WHERE run_id = %s ORDER BY created_at", (run_id,))

    def list(self, *, open_only: bool = False, limit: int = 100) -> builtins.list[EscalationRow]:
        where = "WHERE status = 'open'" if open_only else ""
        return self._rows(f"SELECT * FROM escalations {where} ORDER BY created_at DESC LIMIT %s", (limit,))

    def get(self, escalation_id: str) -> EscalationRow | None:
        return cast("EscalationRow | None",
                    self.db.fetch_one("SELECT * FROM escalations WHERE id::text = %s", (escalation_id,)))

    def _rows(self, sql: str, params: tuple[object, ...]) -> builtins.list[EscalationRow]:
        return cast("list[EscalationRow]", self.db.fetch_all(sql, params))  # SELECT * of this table

    def resolve(self, escalation_id: str, *, by: str, note: str | None = None) -> bool:
        """Close an open escalation; the note is kept in `context.resolution_note`."""
        extra = Jsonb({"resolution_note": note} if note else {})
        return (
            self.db.execute(
                "UPDATE escalations SET status = 'resolved', resolved_at = now(), resolved_by = %s, "
                "context = context || %s WHERE id::text = %s AND status = 'open'",
                (by, extra, escalation_id),
            )
            == 1
        )
