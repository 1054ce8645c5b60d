"""Escalations (the `escalate` failure strategy) and the record of every LLM and tool call.

`call_records` serves cost accounting and `cognos replay --deterministic`, which looks
calls up by (run_id, step_id, request_hash, sequence).

Revision ID: 0006
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE escalations (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            run_id varchar(64) NOT NULL,
            workflow_id varchar(200),
            workflow_version varchar(50),
            step_id varchar(200) NOT NULL,
            reason text NOT NULL,
            error text,
            severity varchar(20) NOT NULL DEFAULT 'high',
            status varchar(20) NOT NULL DEFAULT 'open',
            context jsonb NOT NULL DEFAULT '{}'::jsonb,
            created_at timestamptz NOT NULL DEFAULT now(),
            resolved_at timestamptz,
            resolved_by varchar(200)
        );
        CREATE INDEX idx_escalations_run_id ON escalations(run_id);
        CREATE INDEX idx_escalations_status ON escalations(status);

        CREATE TABLE call_records (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            run_id varchar(64),
            step_id varchar(200),
            kind varchar(20) NOT NULL CHECK (kind IN ('llm', 'tool', 'embedding')),
            name varchar(200) NOT NULL,
            request_hash char(64) NOT NULL,
            sequence integer NOT NULL DEFAULT 0,
            prompt_version varchar(50),
            request jsonb NOT NULL,
            response jsonb,
            status varchar(20) NOT NULL DEFAULT 'ok',
            error text,
            input_tokens integer NOT NULL DEFAULT 0,
            output_tokens integer NOT NULL DEFAULT 0,
            cost_usd double precision NOT NULL DEFAULT 0,
            latency_ms double precision,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX idx_call_records_replay ON call_records(run_id, step_id, request_hash, sequence);
        CREATE INDEX idx_call_records_created ON call_records(created_at);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE call_records; DROP TABLE escalations")
