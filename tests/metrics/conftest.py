"""Seeded agent steps: known latencies, costs, scores and statuses on known days."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

import pytest

from cognitionos_dagster.db.connection import Database

Seed = Callable[..., None]


@pytest.fixture
def seed(db: Database) -> Seed:
    """seed(day, role, latencies, model=..., statuses=..., costs=..., ...): one agent step per latency."""
    counter = iter(range(1_000_000))

    def _seed(day: date, role: str, latencies: list[float | None], *, model: str = "gpt-4o-mini",
              statuses: list[str] | None = None, costs: list[float | None] | None = None,
              quality: list[float | None] | None = None, confidence: list[float | None] | None = None,
              attempts: list[int] | None = None, tokens: tuple[int, int] = (100, 20)) -> None:
        run_id = f"run-{next(counter)}"
        db.execute("INSERT INTO workflow_executions (run_id, workflow_id, workflow_version, status) "
                   "VALUES (%s, 'wf', '1.0.0', 'succeeded')", (run_id,))
        start = datetime.combine(day, time(1), UTC)
        n = len(latencies)
        for i, latency in enumerate(latencies):
            db.execute(
                """
                INSERT INTO workflow_execution_steps (execution_id, step_id, step_type, status, completed_at,
                    agent_role, model, input_tokens, output_tokens, cost_usd, latency_ms, quality_score,
                    confidence, attempts)
                VALUES (%s, %s, 'agent', %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                """,
                (run_id, f"s{i}", (statuses or ["succeeded"] * n)[i], start + timedelta(minutes=i), role, model,
                 tokens[0], tokens[1], (costs or [0.01] * n)[i], latency, (quality or [0.8] * n)[i],
                 (confidence or [0.9] * n)[i], (attempts or [1] * n)[i]),
            )

    return _seed
