"""Memories keep their text-search vector, so ranking a match does not parse its text again.

Why: the `search` tool's full-text ranking (`cognitionos_text_matches`, migration 0017) matched
through a GIN index on an expression, and `ts_rank_cd` then parsed the text of every match
again. A query of common words matches thousands of memories, and its p95 was ten times a
topical one (docs/benchmarks.md, "Agents that use tools"). `text_search` is a stored
generated column of the same expression. The GIN index moves onto it, and the function ranks
the stored vector.

PostgreSQL recomputes a stored generated column only when a column it depends on changes.
Flag flips (archive, access counts) therefore neither parse the text nor touch the index,
and they stay HOT updates. Compression replaces `content` with `summary`, and that recomputes
the vector. Adding the column rewrites the table once, under an exclusive lock (see
docs/operations.md, "Upgrading").

Revision ID: 0019
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

TEXT_EXPRESSION = "to_tsvector('english'::regconfig, coalesce(content, summary, ''))"


def _text_matches(vector: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION cognitionos_text_matches(p_query text, p_namespaces uuid[], p_include_archived boolean,
                                                    p_limit integer)
RETURNS TABLE (memory_id uuid, rank real)
LANGUAGE sql STABLE SECURITY DEFINER ROWS 40 SET search_path = public, pg_temp AS $$
    SELECT m.id, ts_rank_cd({vector}, q)
    FROM memories m, websearch_to_tsquery('english'::regconfig, p_query) q
    WHERE {vector} @@ q
      AND m.namespace_id IN (SELECT cognitionos_readable_namespaces())
      AND (p_namespaces IS NULL OR m.namespace_id = ANY(p_namespaces))
      AND (p_include_archived OR NOT m.archived)
      AND (m.expires_at IS NULL OR m.expires_at > now())
    ORDER BY 2 DESC, 1 DESC
    LIMIT p_limit
$$;
"""


def upgrade() -> None:
    op.execute(f"ALTER TABLE memories ADD COLUMN text_search tsvector GENERATED ALWAYS AS ({TEXT_EXPRESSION}) STORED")
    op.execute("CREATE INDEX idx_memories_text_search ON memories USING gin (text_search)")
    op.execute("DROP INDEX idx_memories_text")
    op.execute(_text_matches("m.text_search"))


def downgrade() -> None:
    op.execute(f"CREATE INDEX idx_memories_text ON memories USING gin (({TEXT_EXPRESSION}))")
    op.execute(_text_matches(TEXT_EXPRESSION.replace("content", "m.content").replace("summary", "m.summary")))
    op.execute("DROP INDEX idx_memories_text_search")
    op.execute("ALTER TABLE memories DROP COLUMN text_search")
