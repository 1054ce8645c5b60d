"""Agent steps by completion time: the `agent_metrics` asset reads one day of them.

The existing (agent_role, completed_at) index cannot serve "every role's steps of one day"
without scanning every role's whole history; this partial index holds agent steps only.

Revision ID: 0015
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX idx_workflow_execution_steps_agent_completed ON workflow_execution_steps(completed_at) "
        "WHERE agent_role IS NOT NULL"
    )


def downgrade() -> None:
    op.execute("DROP INDEX idx_workflow_execution_steps_agent_completed")
