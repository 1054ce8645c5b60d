"""PostgreSQL learns how many (UTC day, role, model) groups the agent steps form.

Why: `agent_metrics` groups the steps by `(completed_at AT TIME ZONE 'UTC')::date`, `agent_role`
and `coalesce(model, '')`. Without statistics on that expression the planner guesses one group
per few steps (about 900,000 for a million steps where there are 360), so it sorts every step
by group instead of hashing them on parallel workers. The statement is written for the hash
plan (docs/benchmarks.md, "Agent metrics"); these statistics are what lets the planner pick it.
ANALYZE runs here so the estimate is right from the first backfill, not from the next autovacuum.

Revision ID: 0019
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

STATISTICS = "workflow_execution_steps_day_role_model"


def upgrade() -> None:
    op.execute(f"""
        CREATE STATISTICS {STATISTICS} (ndistinct)
            ON ((completed_at AT TIME ZONE 'UTC')::date), agent_role, (coalesce(model, ''))
            FROM workflow_execution_steps;
        ANALYZE workflow_execution_steps;
    """)


def downgrade() -> None:
    op.execute(f"DROP STATISTICS IF EXISTS {STATISTICS}")
