"""The grant lookups behind row-level security become PL/pgSQL, which keeps their plans.

Every memory read evaluates `cognitionos_readable_namespaces()` once per table it touches
(a search touches `memory_embeddings` and `memories`). As SQL functions they were planned
again on each call: 0.15-0.2 ms each, measured in `EXPLAIN ANALYZE` of a search, a quarter
of the query. PL/pgSQL caches the plan per session: 0.03-0.06 ms. Same rows, same
SECURITY DEFINER and search_path.

Revision ID: 0009
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_LOOKUPS = {
    "cognitionos_readable_namespaces": """
        SELECT id FROM memory_namespaces WHERE owner_user_id = cognitionos_user()
        UNION
        SELECT namespace_id FROM memory_grants WHERE user_id = cognitionos_user() AND can_read""",
    "cognitionos_writable_namespaces": """
        SELECT id FROM memory_namespaces WHERE owner_user_id = cognitionos_user()
        UNION
        SELECT namespace_id FROM memory_grants WHERE user_id = cognitionos_user() AND can_write""",
    "cognitionos_owned_namespaces": """
        SELECT id FROM memory_namespaces WHERE owner_user_id = cognitionos_user()""",
}


def _define(language: str) -> None:
    for name, query in _LOOKUPS.items():
        body = f"BEGIN RETURN QUERY {query}; END" if language == "plpgsql" else query
        op.execute(
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS SETOF uuid LANGUAGE {language} STABLE SECURITY DEFINER"
            f" SET search_path = public, pg_temp AS $$ {body} $$"
        )


def upgrade() -> None:
    _define("plpgsql")


def downgrade() -> None:
    _define("sql")
