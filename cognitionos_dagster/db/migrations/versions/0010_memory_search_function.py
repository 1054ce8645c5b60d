"""Memory search as one server-side call: `cognitionos_search_memories(...)`.

Why: a search was four statements in one pipelined round trip (BEGIN, switch to the app
role and set the acting user, the query, COMMIT). The server still parsed and ran each of
them, and the client decoded four results: 0.35 ms of a ~2 ms search at the median and
0.7 ms at p95, measured interleaved against the same query here. The function does the
same work in one statement: it switches to `cognitionos_app` and sets the acting user with
`set_config(..., true)`, runs the query under row-level security exactly as before (it
only reads what the database's policies let that user read), and puts the role and user
back, so a caller inside a longer transaction keeps its own identity.

It is SECURITY INVOKER on purpose: a SECURITY DEFINER function may not change role, and the
caller needs the same membership in `cognitionos_app` that the per-transaction switch
needed. Plans are custom per call (`plan_cache_mode`): a generic plan cannot see the LIMIT
and the filters and picks a sequential scan and sort over the whole table.

Filters arrive as NULL when unused; `p_exact` orders by `distance + 0`, which the HNSW
index cannot serve, so PostgreSQL reads the namespace's rows and sorts them (the store asks
for it when the index scan yields fewer than the rows wanted; migration 0012 lets that
query use the namespace index).

Revision ID: 0010
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

APP_ROLE = "cognitionos_app"

QUERY = """
        SELECT m.id::text, m.content, m.content_compressed, m.importance, m.created_at, m.metadata, m.archived,
               e.embedding <=> p_query
        FROM memory_embeddings e, memories m
        WHERE e.namespace_id = p_namespace AND m.id = e.memory_id
          AND (m.expires_at IS NULL OR m.expires_at > now())
          AND (p_include_archived OR NOT m.archived)
          AND (p_metadata IS NULL OR m.metadata @> p_metadata)
          AND (p_created_after IS NULL OR m.created_at >= p_created_after)
          AND (p_created_before IS NULL OR m.created_at < p_created_before)
        ORDER BY {order}
        LIMIT p_limit"""


def function_sql(approximate: str, exact: str, settings: str) -> str:
    """The function's definition around its two query statements; migration 0012 reuses it."""
    return f"""
        CREATE OR REPLACE FUNCTION cognitionos_search_memories(
            p_user uuid, p_namespace uuid, p_query vector, p_limit int, p_ef_search int,
            p_include_archived boolean DEFAULT false, p_metadata jsonb DEFAULT NULL,
            p_created_after timestamptz DEFAULT NULL, p_created_before timestamptz DEFAULT NULL,
            p_exact boolean DEFAULT false)
        RETURNS TABLE (id text, content text, content_compressed bytea, importance real,
                       created_at timestamptz, metadata jsonb, archived boolean, distance double precision)
        LANGUAGE plpgsql VOLATILE SECURITY INVOKER
        SET search_path = public, pg_temp
        {settings}
        AS $$
        DECLARE
            prev_role text := current_setting('role');
            prev_user text := coalesce(current_setting('cognitionos.user_id', true), '');
        BEGIN
            PERFORM set_config('role', '{APP_ROLE}', true),
                    set_config('cognitionos.user_id', p_user::text, true),
                    set_config('hnsw.ef_search', p_ef_search::text, true);
            IF p_exact THEN
                {exact};
            ELSE
                {approximate};
            END IF;
            PERFORM set_config('role', prev_role, true), set_config('cognitionos.user_id', prev_user, true);
        END
        $$
        """


SETTINGS = "SET plan_cache_mode = force_custom_plan"


APPROXIMATE = "RETURN QUERY " + QUERY.format(order="e.embedding <=> p_query")
EXACT = "RETURN QUERY " + QUERY.format(order="(e.embedding <=> p_query) + 0")


def upgrade() -> None:
    op.execute(function_sql(APPROXIMATE, EXACT, SETTINGS))


def downgrade() -> None:
    op.execute(
        "DROP FUNCTION cognitionos_search_memories(uuid, uuid, vector, int, int, boolean, jsonb, timestamptz,"
        " timestamptz, boolean)"
    )
