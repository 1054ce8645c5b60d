"""Seed 003: agent metrics aggregated per role and model over time windows.

The seed keys metrics by an `agents` row; here agents are role definitions in files, so
the key is (agent_role, model, window). The unique key makes re-materialising a window
an upsert.

Revision ID: 0003
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE agent_metrics (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            agent_role varchar(100) NOT NULL,
            model varchar(200) NOT NULL DEFAULT '',
            time_window_start timestamptz NOT NULL,
            time_window_end timestamptz NOT NULL,
            task_count integer NOT NULL,
            avg_confidence double precision,
            avg_quality_score double precision,
            hallucination_rate double precision,
            avg_latency_ms integer,
            p95_latency_ms integer,
            p99_latency_ms integer,
            avg_cost_per_task double precision,
            total_tokens_used bigint,
            success_rate double precision,
            retry_rate double precision,
            failure_rate double precision,
            created_at timestamptz NOT NULL DEFAULT now(),
            UNIQUE (agent_role, model, time_window_start, time_window_end)
        );
        CREATE INDEX idx_agent_metrics_agent_role ON agent_metrics(agent_role);
        CREATE INDEX idx_agent_metrics_time_window ON agent_metrics(time_window_start, time_window_end);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE agent_metrics")
