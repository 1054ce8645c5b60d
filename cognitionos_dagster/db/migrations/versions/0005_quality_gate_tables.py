"""Seed 005: quality-gate policies and the result of every gate evaluation.

Results point at the run and step that produced the output (the seed's `task_id`).

Revision ID: 0005
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE quality_gate_policies (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            name varchar(200) NOT NULL UNIQUE,
            description text,
            min_quality_score double precision DEFAULT 0.7,
            min_confidence_score double precision DEFAULT 0.7,
            require_cross_verification boolean DEFAULT false,
            require_self_critique boolean DEFAULT false,
            blocking boolean NOT NULL DEFAULT true,
            created_at timestamptz NOT NULL DEFAULT now()
        );

        CREATE TABLE quality_gate_results (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            run_id varchar(64),
            step_id varchar(200),
            agent_role varchar(100),
            policy_id uuid REFERENCES quality_gate_policies(id) ON DELETE SET NULL,
            policy_name varchar(200),
            passed boolean NOT NULL,
            quality_score double precision,
            confidence_score double precision,
            failure_reason text,
            checked_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX idx_quality_gate_results_run_step ON quality_gate_results(run_id, step_id);
        CREATE INDEX idx_quality_gate_results_agent_role ON quality_gate_results(agent_role);
        CREATE INDEX idx_quality_gate_results_passed ON quality_gate_results(passed);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE quality_gate_results; DROP TABLE quality_gate_policies")
