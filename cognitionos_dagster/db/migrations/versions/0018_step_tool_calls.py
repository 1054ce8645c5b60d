"""Agent steps keep the tool calls their model asked for.

Why: an agent step may call tools in rounds (`agents/tool_loop.py`). `call_records` holds the
calls that ran, but not the ones the loop refused (an unknown tool, one the step does not
offer, arguments that break the tool's schema), which ran nothing and which the model was
told about. `tool_calls` lists every call of the step in order — round, tool, status
(ok | failed | refused) and error — so the step record shows why a loop went the way it did.

Also: the `search` tool ranks memories by full text beside vector distance
(`memory/hybrid.py`). Without an index, `to_tsvector(...) @@ query` parses every readable
memory's text on every search; the GIN expression index answers the match from the index.
The expression is the one `memory/hybrid.py` queries (the planner uses an expression index
only for the identical expression): a compressed memory's text is its summary, if it has one.
Flag flips (archive, access counts) leave `content` and `summary` alone, so they stay HOT updates.

Revision ID: 0018
"""

from alembic import op

revision = "0018"
down_revision = "0013"
branch_labels = None
depends_on = None


TEXT_EXPRESSION = "to_tsvector('english'::regconfig, coalesce(content, summary, ''))"


def upgrade() -> None:
    op.execute("ALTER TABLE workflow_execution_steps ADD COLUMN tool_calls jsonb")
    op.execute(f"CREATE INDEX idx_memories_text ON memories USING gin (({TEXT_EXPRESSION}))")


def downgrade() -> None:
    op.execute("DROP INDEX idx_memories_text")
    op.execute("ALTER TABLE workflow_execution_steps DROP COLUMN tool_calls")
