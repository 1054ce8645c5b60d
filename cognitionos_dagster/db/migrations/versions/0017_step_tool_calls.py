"""Agent steps keep the tool calls their model asked for.

Why: an agent step may call tools in rounds (`agents/tool_loop.py`). `call_records` holds the
calls that ran, but not the ones the loop refused (an unknown tool, one the step does not
offer, arguments that break the tool's schema), which ran nothing and which the model was
told about. `tool_calls` lists every call of the step in order — round, tool, status
(ok | failed | refused) and error — so the step record shows why a loop went the way it did.

Also: the `search` tool ranks memories by full text beside vector distance
(`memory/hybrid.py`), through a GIN expression index on the memory's text (a compressed
memory's text is its summary, if it has one). Flag flips (archive, access counts) leave
`content` and `summary` alone, so they stay HOT updates.

Row-level security alone keeps that index unused: `@@` is not leakproof, so PostgreSQL must
check the policy on every row before the match, and every search read every memory.
`cognitionos_text_matches` runs the match as the
owner, restricted by the same predicate the read policy uses
(`cognitionos_readable_namespaces()` for the acting user), and returns only ids and ranks;
the caller joins them to `memories` as `cognitionos_app`, where the policy applies again.
`ROWS 40` (a search's usual candidate count) lets that join look each id up by primary key;
the default estimate of 1,000 rows made it hash every readable memory.

Revision ID: 0017
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


TEXT_EXPRESSION = "to_tsvector('english'::regconfig, coalesce(content, summary, ''))"
_MATCHED = "to_tsvector('english'::regconfig, coalesce(m.content, m.summary, ''))"  # the same, qualified


_TEXT_MATCHES = f"""
CREATE FUNCTION cognitionos_text_matches(p_query text, p_namespaces uuid[], p_include_archived boolean,
                                         p_limit integer)
RETURNS TABLE (memory_id uuid, rank real)
LANGUAGE sql STABLE SECURITY DEFINER ROWS 40 SET search_path = public, pg_temp AS $$
    SELECT m.id, ts_rank_cd({_MATCHED}, q)
    FROM memories m, websearch_to_tsquery('english'::regconfig, p_query) q
    WHERE {_MATCHED} @@ q
      AND m.namespace_id IN (SELECT cognitionos_readable_namespaces())
      AND (p_namespaces IS NULL OR m.namespace_id = ANY(p_namespaces))
      AND (p_include_archived OR NOT m.archived)
      AND (m.expires_at IS NULL OR m.expires_at > now())
    ORDER BY 2 DESC, 1 DESC
    LIMIT p_limit
$$;
"""


def upgrade() -> None:
    op.execute("ALTER TABLE workflow_execution_steps ADD COLUMN tool_calls jsonb")
    op.execute(f"CREATE INDEX idx_memories_text ON memories USING gin (({TEXT_EXPRESSION}))")
    op.execute(_TEXT_MATCHES)


def downgrade() -> None:
    op.execute("DROP FUNCTION cognitionos_text_matches(text, uuid[], boolean, integer)")
    op.execute("DROP INDEX idx_memories_text")
    op.execute("ALTER TABLE workflow_execution_steps DROP COLUMN tool_calls")
