"""The memory search function plans its queries once per session instead of on every call.

Why: planning the secured search query (the join to `memories` and the row-level security
subplans of both tables) took 0.3-0.4 ms of a ~1.9 ms search, on every call. Migration 0010
forced a custom plan per call because a generic plan, estimated without the parameters'
values, picked a sequential scan and sort (with the LIMIT a parameter) or a materialized
scan of every memory (with it constant): 234-340 ms a search.

A search has one right shape whatever its arguments: the approximate query walks the HNSW
index in distance order and fetches each candidate's memory by primary key; the exact query
reads the namespace's memories through their namespace index, fetches each one's embedding
by primary key and sorts them. Turning off the plan nodes neither query should use
(sequential scans, sorts where the index can order, materialized or memoized inner scans, hash
and merge joins) leaves the planner exactly those shapes, so one generic plan per session serves every
call. The query also names the namespace on `memories` itself: the namespace index is there
(`memory_embeddings` has none), so the exact query of a small namespace no longer reads every
embedding of the table. Row-level security is unchanged: the plan is made and run as
`cognitionos_app`, and the readable namespaces are looked up when it runs, for the acting
user of that call. Measured interleaved on 100k memories: p50 1.90 -> 1.60 ms, p95
2.99 -> 2.63 ms; the exact query as before (~0.65 s over a 100k-memory namespace).

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


def upgrade() -> None:
    base = _revision_0010()
    assert _JOIN in base.QUERY
    query = base.QUERY.replace(_JOIN, "WHERE e.namespace_id = p_namespace AND m.namespace_id = p_namespace"
                                      " AND m.id = e.memory_id")
    op.execute(base.function_sql(query, _SETTINGS))


def downgrade() -> None:
    base = _revision_0010()
    op.execute(base.function_sql(base.QUERY, base.SETTINGS))
