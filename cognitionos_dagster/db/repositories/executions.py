"""Workflow executions and their steps: the rows SQL users and the metrics asset read.

Each Dagster run of a compiled workflow is one `workflow_executions` row keyed by the run
id; each step (and each foreach item, as `<id>[<index>]`, and each sub-workflow step, as
`<parent>.<child>`) is one `workflow_execution_steps` row, upserted as it progresses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypedDict, cast
from uuid import UUID

from psycopg.types.json import Jsonb

from cognitionos_dagster.db.connection import Database


def _json(value: Any) -> Jsonb | None:
    return None if value is None else Jsonb(value)


class StepRow(TypedDict):
    """A row of `workflow_execution_steps` (migration 0002), as `SELECT *` returns it."""

    id: UUID
    execution_id: str
    step_id: str
    step_type: str
    status: str
    started_at: datetime | None
    completed_at: datetime | None
    input: Any
    output: Any
    error: str | None
    agent_role: str | None
    model: str | None
    prompt_version: str | None
    input_tokens: int | None
    output_tokens: int | None
    cost_usd: float | None
    latency_ms: float | None
    confidence: float | None
    quality_score: float | None
    attempts: int
    retry_count: int
    created_at: datetime
    quality: dict[str, Any] | None  # migration 0016: the gate's verdicts, critique rounds, verifier
    tool_calls: list[dict[str, Any]] | None  # migration 0017: an agent's tool loop
    hallucinated: bool | None  # migration 0018: OR of its gate results' grounding verdicts (kept by triggers)


class ExecutionRow(TypedDict):
    """A row of `workflow_executions` (migration 0002), as `SELECT *` returns it."""

    run_id: str
    workflow_id: str
    workflow_version: str
    spec_sha256: str | None
    inputs: dict[str, Any]
    outputs: Any
    status: str
    started_at: datetime | None
    completed_at: datetime | None
    error: str | None
    user_id: UUID | None
    parent_run_id: str | None
    root_run_id: str | None
    deterministic_replay: bool
    created_at: datetime


@dataclass
class StepRecord:
    """One step's state. Agent fields stay None for tool and sub-workflow steps."""

    run_id: str
    step_id: str
    step_type: str
    status: str
    started_at: datetime | None = None
    completed_at: datetime | None = None
    input: Any = None
    output: Any = None
    error: str | None = None
    attempts: int = 1
    agent_role: str | None = None
    model: str | None = None
    prompt_version: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    latency_ms: float | None = None
    confidence: float | None = None
    quality_score: float | None = None
    tool_calls: list[dict[str, Any]] | None = None  # an agent's tool loop: round, tool, status, error
    extra: dict[str, Any] = field(default_factory=dict)


_STEP_COLUMNS = (
    "execution_id", "step_id", "step_type", "status", "started_at", "completed_at", "input", "output", "error",
    "agent_role", "model", "prompt_version", "input_tokens", "output_tokens", "cost_usd", "latency_ms",
    "confidence", "quality_score", "attempts", "retry_count", "quality", "tool_calls",
)
_UPSERT_STEP = f"""
    INSERT INTO workflow_execution_steps ({", ".join(_STEP_COLUMNS)})
    VALUES ({", ".join(["%s"] * len(_STEP_COLUMNS))})
    ON CONFLICT (execution_id, step_id) DO UPDATE SET
        {", ".join(f"{c} = EXCLUDED.{c}" for c in _STEP_COLUMNS[2:] if c != "started_at")},
        started_at = COALESCE(workflow_execution_steps.started_at, EXCLUDED.started_at)
"""


def _step_params(rec: StepRecord) -> tuple[Any, ...]:
    return (
        rec.run_id, rec.step_id, rec.step_type, rec.status, rec.started_at, rec.completed_at,
        _json(rec.input), _json(rec.output), rec.error, rec.agent_role, rec.model, rec.prompt_version,
        rec.input_tokens, rec.output_tokens, rec.cost_usd, rec.latency_ms, rec.confidence,
        rec.quality_score, rec.attempts, max(0, rec.attempts - 1), _json(rec.extra.get("quality")),
        _json(rec.tool_calls),
    )


class ExecutionRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def start(
        self,
        run_id: str,
        *,
        workflow_id: str,
        workflow_version: str,
        spec_sha256: str | None,
        inputs: dict[str, Any],
        parent_run_id: str | None = None,
        root_run_id: str | None = None,
        deterministic_replay: bool = False,
        started_at: datetime | None = None,
    ) -> None:
        """Create (or, on re-execution of the same run id, reset) the execution row."""
        self.db.execute(
            """
            INSERT INTO workflow_executions (run_id, workflow_id, workflow_version, spec_sha256, inputs, status,
                started_at, parent_run_id, root_run_id, deterministic_replay)
            VALUES (%s, %s, %s, %s, %s, 'running', COALESCE(%s, now()), %s, %s, %s)
            ON CONFLICT (run_id) DO UPDATE SET status = 'running', inputs = EXCLUDED.inputs, error = NULL
            """,
            (run_id, workflow_id, workflow_version, spec_sha256, Jsonb(inputs), started_at, parent_run_id,
             root_run_id, deterministic_replay),
        )

    def finish(self, run_id: str, *, status: str, outputs: Any = None, error: str | None = None) -> None:
        self.db.execute(
            """
            UPDATE workflow_executions SET status = %s, outputs = COALESCE(%s, outputs), error = %s,
                completed_at = now()
            WHERE run_id = %s
            """,
            (status, _json(outputs), error, run_id),
        )

    def record_step(self, rec: StepRecord) -> None:
        self.record_steps([rec])

    def record_steps(self, records: list[StepRecord]) -> None:
        """Upsert in order (a step's `running` row before its final one), in one transaction."""
        if not records:
            return
        with self.db.connection() as conn, conn.cursor() as cur:
            cur.executemany(_UPSERT_STEP, [_step_params(rec) for rec in records])

    def get(self, run_id: str) -> ExecutionRow | None:
        row = self.db.fetch_one("SELECT * FROM workflow_executions WHERE run_id = %s", (run_id,))
        return cast("ExecutionRow | None", row)  # SELECT * of this table

    def steps(self, run_id: str) -> list[StepRow]:
        return cast("list[StepRow]", self.db.fetch_all(  # SELECT * of this table
            "SELECT * FROM workflow_execution_steps WHERE execution_id = %s ORDER BY started_at NULLS LAST, step_id",
            (run_id,),
        ))
