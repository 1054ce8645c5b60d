"""Values of workflow assets (`assets:` in a spec), one row per materialisation.

Why: an asset's value must be readable by a run on another machine (a `from_asset`
consumer), so it lives in PostgreSQL rather than in a run worker's filesystem. A row
keeps the run that wrote it and the blocking check that failed on it, if any: a consumer
reads the newest row and refuses a failed one, naming the asset, the check and the run.

Revision ID: 0014
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE workflow_asset_values (
            id bigserial PRIMARY KEY,
            asset_key text NOT NULL,
            run_id text NOT NULL,
            workflow_id text NOT NULL,
            workflow_version text NOT NULL,
            spec_sha256 text,
            value jsonb,
            size_bytes integer NOT NULL,
            failed_check text,
            failure text,
            created_at timestamptz NOT NULL DEFAULT now()
        )
    """)
    op.execute("CREATE INDEX workflow_asset_values_latest ON workflow_asset_values (asset_key, id DESC)")


def downgrade() -> None:
    op.execute("DROP TABLE workflow_asset_values")
