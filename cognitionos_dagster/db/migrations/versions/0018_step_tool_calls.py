"""Agent steps keep the tool calls their model asked for.

Why: an agent step may call tools in rounds (`agents/tool_loop.py`). `call_records` holds the
calls that ran, but not the ones the loop refused (an unknown tool, one the step does not
offer, arguments that break the tool's schema), which ran nothing and which the model was
told about. `tool_calls` lists every call of the step in order — round, tool, status
(ok | failed | refused) and error — so the step record shows why a loop went the way it did.

Revision ID: 0018
"""

from alembic import op

revision = "0018"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE workflow_execution_steps ADD COLUMN tool_calls jsonb")


def downgrade() -> None:
    op.execute("ALTER TABLE workflow_execution_steps DROP COLUMN tool_calls")
