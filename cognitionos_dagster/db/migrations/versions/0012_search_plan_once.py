"""The memory search function plans its queries once per session instead of on every call.

Why: planning the secured search query (the join to `memories` and the row-level security
subplans of both tables) took 0.3-0.4 ms of a ~1.9 ms search, on every call. Migration 0010
forced a custom plan per call because a generic plan, estimated without the parameters'
values, picked a sequential scan and sort (with the LIMIT a parameter) or a materialized
scan of every memory (with it constant): 234-340 ms a search.

A search has one right shape whatever its arguments: the approximate query walks the HNSW
index in distance order and fetches each candidate's memory by primary key; the exact query
reads the namespace's rows through its index and sorts them. Turning off the plan nodes
neither query should use (sequential scans, sorts where the index can order, materialized
inner scans, hash and merge joins) leaves the planner exactly those shapes, so one generic
plan per session serves every call. Row-level security is unchanged: the plan is made and
run as `cognitionos_app`, and the readable namespaces are looked up when it runs, for the
acting user of that call. Measured interleaved on 100k memories: p50 1.90 -> 1.60 ms, p95
2.99 -> 2.63 ms; the exact query as before (~0.65 s over a 100k-memory namespace).

The settings apply only inside the function.

Revision ID: 0012
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_FUNCTION = (
    "cognitionos_search_memories(uuid, uuid, vector, int, int, boolean, jsonb, timestamptz, timestamptz, boolean)"
)
_SETTINGS = {
    "plan_cache_mode": "force_generic_plan",
    "enable_seqscan": "off",
    "enable_sort": "off",
    "enable_material": "off",
    "enable_hashjoin": "off",
    "enable_mergejoin": "off",
}


def upgrade() -> None:
    for name, value in _SETTINGS.items():
        op.execute(f"ALTER FUNCTION {_FUNCTION} SET {name} = {value}")


def downgrade() -> None:
    for name in _SETTINGS:
        op.execute(f"ALTER FUNCTION {_FUNCTION} RESET {name}")
    op.execute(f"ALTER FUNCTION {_FUNCTION} SET plan_cache_mode = force_custom_plan")
