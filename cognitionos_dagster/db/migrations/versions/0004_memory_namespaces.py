"""Seed 004: memory namespaces, lifecycle policies and the memories table with its vector column.

The embedding dimension comes from the migration config (`COGNITIONOS_EMBEDDING_DIM`,
default 384); every provider embeds at that one dimension. `fillfactor = 70` leaves room
for HOT updates, which keeps lifecycle passes (flag flips) from rewriting indexes.

Revision ID: 0004
"""

from alembic import context, op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    dim = int(context.config.attributes.get("embedding_dim", 384))
    op.execute(
        f"""
        CREATE TABLE memory_namespaces (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            name varchar(200) NOT NULL UNIQUE,
            description text,
            owner_user_id uuid REFERENCES users(id),
            quota_bytes bigint,
            created_at timestamptz NOT NULL DEFAULT now()
        );

        CREATE TABLE memory_lifecycle_policies (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            name varchar(200) NOT NULL UNIQUE,
            namespace_id uuid REFERENCES memory_namespaces(id) ON DELETE SET NULL,
            ttl_days integer,
            compression_after_days integer,
            archive_after_days integer,
            min_access_frequency integer,
            created_at timestamptz NOT NULL DEFAULT now()
        );

        CREATE TABLE memories (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            namespace_id uuid NOT NULL REFERENCES memory_namespaces(id) ON DELETE CASCADE,
            owner_user_id uuid REFERENCES users(id),
            content text NOT NULL,
            content_compressed bytea,
            summary text,
            embedding vector({dim}),
            importance real NOT NULL DEFAULT 0.5,
            access_count integer NOT NULL DEFAULT 0,
            last_accessed_at timestamptz,
            created_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz,
            compressed boolean NOT NULL DEFAULT false,
            archived boolean NOT NULL DEFAULT false,
            content_hash char(64) NOT NULL,
            metadata jsonb NOT NULL DEFAULT '{{}}'::jsonb,
            UNIQUE (namespace_id, content_hash)
        ) WITH (fillfactor = 70);
        CREATE INDEX idx_memories_namespace_created ON memories(namespace_id, created_at);
        CREATE INDEX idx_memories_embedding_hnsw ON memories
            USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE memories; DROP TABLE memory_lifecycle_policies; DROP TABLE memory_namespaces")
