"""The memory search function plans its queries once per session instead of on every call.

Why: planning the secured search query (the join to `memories` and the row-level security
subplans of both tables) took 0.3-0.4 ms of a ~1.9 ms search, on every call. Migration 0010
forced a custom plan per call because a generic plan, estimated without the parameters'
values, picked a sequential scan and sort (with the LIMIT a parameter) or a materialized
scan of every memory (with it constant): 234-340 ms a search.

The approximate query (every search) has one right shape whatever its arguments: walk the
HNSW index in distance order and fetch each candidate's memory by primary key. Turning off
the plan nodes it should never use (sequential scans, sorts, materialized or memoized inner
scans, hash and merge joins) leaves the planner exactly that shape, so one generic plan per
session serves every call. The exact query (the fallback when a small namespace or a tight
filter leaves the index scan short) runs as dynamic SQL, planned per call with its values:
its best plan depends on the namespace's size, and a generic plan sometimes walked the whole
primary key instead of the namespace index (100-230 ms for a 5-memory namespace in a
200k-memory table, against ~2 ms). It also names the namespace on `memories` itself, where
the namespace index is (`memory_embeddings` has none). Row-level security is unchanged: the
plans are made and run as `cognitionos_app`, and the readable namespaces are looked up when
they run, for the acting user of that call. Measured interleaved on 100k memories: p50
1.90 -> 1.60 ms, p95 2.99 -> 2.63 ms.

The settings apply only inside the function.

Revision ID: 0012
"""

import importlib.util
from pathlib import Path
from types import ModuleType

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def _revision_0010() -> ModuleType:
    """The definition this revision changes (revision files are not an importable package)."""
    path = Path(__file__).with_name("0010_memory_search_function.py")
    spec = importlib.util.spec_from_file_location("cognitionos_revision_0010", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_SETTINGS = (
    "SET plan_cache_mode = force_generic_plan SET enable_seqscan = off SET enable_sort = off"
    " SET enable_material = off SET enable_memoize = off SET enable_hashjoin = off SET enable_mergejoin = off"
)
_JOIN = "WHERE e.namespace_id = p_namespace AND m.id = e.memory_id"
# The exact query's arguments, in the order `EXECUTE ... USING` passes them as $1..$7.
_ARGUMENTS = ("p_query", "p_namespace", "p_include_archived", "p_metadata", "p_created_after", "p_created_before",
              "p_limit")


def _statements(base: ModuleType) -> tuple[str, str]:
    """The approximate statement (planned once) and the exact one (planned per call, as dynamic SQL)."""
    assert _JOIN in base.QUERY
    query = base.QUERY.replace(_JOIN, "WHERE e.namespace_id = p_namespace AND m.namespace_id = p_namespace"
                                      " AND m.id = e.memory_id")
    approximate = "RETURN QUERY " + query.format(order="e.embedding <=> p_query")
    exact = query.format(order="(e.embedding <=> p_query) + 0")
    for n, name in enumerate(_ARGUMENTS, start=1):
        exact = exact.replace(name, f"${n}")
    assert "p_" not in exact, "every argument of the exact query must be passed as $n"
    return approximate, f"RETURN QUERY EXECUTE $exact${exact}$exact$ USING {', '.join(_ARGUMENTS)}"


def upgrade() -> None:
    base = _revision_0010()
    op.execute(base.function_sql(*_statements(base), _SETTINGS))


def downgrade() -> None:
    base = _revision_0010()
    op.execute(base.function_sql(base.APPROXIMATE, base.EXACT, base.SETTINGS))
