"""Memory embeddings move to their own 1:1 table, so `memories` rows stay narrow.

Why: a 384-d `vector` is 1,544 bytes. Inline in `memories` it made every row ~1.8 kB, just
under PostgreSQL's fixed 2,032-byte threshold at which TOAST moves wide values out of line
(`toast_tuple_target` only changes the size aimed at once toasting has started, not when it
starts), so every lifecycle flag flip rewrote the whole 1.8 kB row and its WAL: a pass over
1M memories took 36 s, and 22 s even with the vector dropped but fillfactor 70. With the
vector beside it, a row is ~290 bytes, and `fillfactor = 50` leaves room on every page for
the new versions a pass writes, so flag flips are HOT updates (no index entries written).

- `memory_embeddings (memory_id, namespace_id, embedding)`: one row per memory, carrying the
  HNSW index; `namespace_id` is repeated so row-level security and the namespace filter
  need no join. Its dimension is the one `memories.embedding` had.
- A statement-level AFTER DELETE trigger on `memories` removes the embeddings of the
  deleted rows in one set-based statement (a foreign key with ON DELETE CASCADE does the
  same one row at a time: 2.3 s for a 100k-row GC here).
- Row-level security on the new table mirrors `memories` (readable / writable namespaces).
- `fillfactor = 50` applies to pages written from now on; `VACUUM FULL memories` rewrites
  existing ones (see docs/operations.md).

Revision ID: 0008
"""

from alembic import op
from sqlalchemy import text

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

APP_ROLE = "cognitionos_app"


def _column_dim(table: str) -> int:
    row = op.get_bind().execute(
        text("SELECT atttypmod FROM pg_attribute WHERE attrelid = CAST(:t AS regclass) AND attname = 'embedding'"),
        {"t": table},
    ).fetchone()
    assert row is not None, f"{table}.embedding is missing"
    return int(row[0])


def upgrade() -> None:
    dim = _column_dim("memories")
    op.execute(
        f"""
        CREATE TABLE memory_embeddings (
            memory_id uuid PRIMARY KEY,
            namespace_id uuid NOT NULL REFERENCES memory_namespaces(id) ON DELETE CASCADE,
            embedding vector({dim}) NOT NULL
        );
        INSERT INTO memory_embeddings (memory_id, namespace_id, embedding)
            SELECT id, namespace_id, embedding FROM memories WHERE embedding IS NOT NULL;
        DROP INDEX IF EXISTS idx_memories_embedding_hnsw;
        ALTER TABLE memories DROP COLUMN embedding;
        ALTER TABLE memories SET (fillfactor = 50);
        CREATE INDEX idx_memory_embeddings_hnsw ON memory_embeddings
            USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64);

        -- The transition table has no statistics; a probe of the primary key per removed memory
        -- is right for any GC batch, a hash join would read every embedding.
        CREATE FUNCTION cognitionos_drop_memory_embeddings() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER
        SET search_path = public, pg_temp SET enable_hashjoin = off SET enable_mergejoin = off AS $$
        BEGIN
            DELETE FROM memory_embeddings e USING removed_memories r WHERE e.memory_id = r.id;
            RETURN NULL;
        END
        $$;
        CREATE TRIGGER memories_drop_embeddings AFTER DELETE ON memories
            REFERENCING OLD TABLE AS removed_memories
            FOR EACH STATEMENT EXECUTE FUNCTION cognitionos_drop_memory_embeddings();

        ALTER TABLE memory_embeddings ENABLE ROW LEVEL SECURITY;
        ALTER TABLE memory_embeddings FORCE ROW LEVEL SECURITY;
        CREATE POLICY embeddings_system ON memory_embeddings TO CURRENT_USER USING (true) WITH CHECK (true);
        CREATE POLICY embeddings_read ON memory_embeddings FOR SELECT
            USING (namespace_id IN (SELECT cognitionos_readable_namespaces()));
        CREATE POLICY embeddings_insert ON memory_embeddings FOR INSERT
            WITH CHECK (namespace_id IN (SELECT cognitionos_writable_namespaces()));
        CREATE POLICY embeddings_update ON memory_embeddings FOR UPDATE
            USING (namespace_id IN (SELECT cognitionos_writable_namespaces()))
            WITH CHECK (namespace_id IN (SELECT cognitionos_writable_namespaces()));
        CREATE POLICY embeddings_delete ON memory_embeddings FOR DELETE
            USING (namespace_id IN (SELECT cognitionos_writable_namespaces()));
        GRANT SELECT, INSERT, UPDATE, DELETE ON memory_embeddings TO {APP_ROLE};
        """
    )


def downgrade() -> None:
    dim = _column_dim("memory_embeddings")
    op.execute(
        f"""
        DROP TRIGGER memories_drop_embeddings ON memories;
        DROP FUNCTION cognitionos_drop_memory_embeddings();
        ALTER TABLE memories ADD COLUMN embedding vector({dim});
        UPDATE memories m SET embedding = e.embedding FROM memory_embeddings e WHERE e.memory_id = m.id;
        ALTER TABLE memories SET (fillfactor = 70);
        REVOKE ALL ON memory_embeddings FROM {APP_ROLE};
        DROP TABLE memory_embeddings;
        CREATE INDEX idx_memories_embedding_hnsw ON memories
            USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64);
        """
    )
