"""Lifecycle policies may ask for a model summary of each compressed memory.

Why: a compressed memory keeps its original text as a zlib stream, which nobody can skim.
`summarize` lets a policy have a model write a short summary into `memories.summary`,
beside the original, never instead of it. `summary_model` names the model (empty: the
configured default). The summaries themselves are written after a lifecycle pass by
`cognitionos_dagster.memory.summaries`, since a model call per memory does not belong in
the pass's set-based SQL.

Revision ID: 0013
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        ALTER TABLE memory_lifecycle_policies
            ADD COLUMN summarize boolean NOT NULL DEFAULT false,
            ADD COLUMN summary_model text
    """)


def downgrade() -> None:
    op.execute("ALTER TABLE memory_lifecycle_policies DROP COLUMN summary_model, DROP COLUMN summarize")
