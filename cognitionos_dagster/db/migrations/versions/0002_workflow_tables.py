"""Seed 002: workflow registry, executions (keyed by the Dagster run id) and steps.

Revision ID: 0002
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE workflows (
            id varchar(200) NOT NULL,
            version varchar(50) NOT NULL,
            name varchar(200) NOT NULL,
            description text,
            definition jsonb NOT NULL,
            spec_sha256 char(64) NOT NULL,
            source_path text,
            schedule varchar(100),
            created_by uuid REFERENCES users(id),
            created_at timestamptz NOT NULL DEFAULT now(),
            is_active boolean NOT NULL DEFAULT true,
            PRIMARY KEY (id, version)
        );

        CREATE TABLE workflow_executions (
            run_id varchar(64) PRIMARY KEY,
            workflow_id varchar(200) NOT NULL,
            workflow_version varchar(50) NOT NULL,
            spec_sha256 char(64),
            inputs jsonb NOT NULL DEFAULT '{}'::jsonb,
            outputs jsonb,
            status varchar(50) NOT NULL,
            started_at timestamptz,
            completed_at timestamptz,
            error text,
            user_id uuid REFERENCES users(id),
            parent_run_id varchar(64),
            root_run_id varchar(64),
            deterministic_replay boolean NOT NULL DEFAULT false,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX idx_workflow_executions_workflow_id ON workflow_executions(workflow_id, workflow_version);
        CREATE INDEX idx_workflow_executions_user_id ON workflow_executions(user_id);
        CREATE INDEX idx_workflow_executions_status ON workflow_executions(status);

        CREATE TABLE workflow_execution_steps (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            execution_id varchar(64) NOT NULL REFERENCES workflow_executions(run_id) ON DELETE CASCADE,
            step_id varchar(200) NOT NULL,
            step_type varchar(100) NOT NULL,
            status varchar(50) NOT NULL,
            started_at timestamptz,
            completed_at timestamptz,
            input jsonb,
            output jsonb,
            error text,
            agent_role varchar(100),
            model varchar(200),
            prompt_version varchar(50),
            input_tokens integer,
            output_tokens integer,
            cost_usd double precision,
            latency_ms double precision,
            confidence double precision,
            quality_score double precision,
            attempts integer NOT NULL DEFAULT 1,
            retry_count integer NOT NULL DEFAULT 0,
            created_at timestamptz NOT NULL DEFAULT now(),
            UNIQUE (execution_id, step_id)
        );
        CREATE INDEX idx_workflow_execution_steps_execution_id ON workflow_execution_steps(execution_id);
        CREATE INDEX idx_workflow_execution_steps_role_time ON workflow_execution_steps(agent_role, completed_at);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE workflow_execution_steps; DROP TABLE workflow_executions; DROP TABLE workflows")
