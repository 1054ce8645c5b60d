"""Reading memories by id and by recency, in a transaction already acting as the user.

Row-level security filters both: an id in a namespace the user may not read comes back
exactly like an id that does not exist, so a caller learns nothing about other users' memories.
"""

from __future__ import annotations

from datetime import datetime

from psycopg.rows import tuple_row

from cognitionos_dagster.memory import access
from cognitionos_dagster.memory.compression import stored_text
from cognitionos_dagster.memory.interface import MemoryEntry

_COLUMNS = (
    "SELECT m.id::text, n.name, m.content, m.content_compressed, m.importance, m.created_at, m.archived, m.metadata"
    " FROM memories m JOIN memory_namespaces n ON n.id = m.namespace_id"
)
_LIVE = "(m.expires_at IS NULL OR m.expires_at > now())"
_BY_ID = f"{_COLUMNS} WHERE m.id = ANY(%s::uuid[]) AND {_LIVE}"
# Ids are time-ordered (migration 0011), so they break ties between memories of the same instant.
_RECENT = (f"{_COLUMNS} WHERE m.namespace_id = %s AND (%s OR NOT m.archived) AND {_LIVE}"
           " ORDER BY m.created_at DESC, m.id DESC LIMIT %s")

Row = tuple[str, str, str | None, bytes | None, float, datetime, bool, dict[str, object] | None]


def _entry(row: Row) -> MemoryEntry:
    memory_id, namespace, content, compressed, importance, created_at, archived, metadata = row
    return MemoryEntry(id=memory_id, namespace=namespace, content=stored_text(content, compressed),
                       importance=importance, created_at=created_at, archived=archived, metadata=metadata or {})


def by_ids(conn: access.Conn, ids: list[str]) -> list[MemoryEntry]:
    """The readable ones among `ids`, in the order asked (a repeated id once)."""
    with conn.cursor(row_factory=tuple_row) as cur:
        found = {row[0]: _entry(row) for row in cur.execute(_BY_ID, (ids,)).fetchall()}
    return [found[i] for i in dict.fromkeys(ids) if i in found]


def recent(conn: access.Conn, namespace_id: str, *, limit: int, include_archived: bool) -> list[MemoryEntry]:
    with conn.cursor(row_factory=tuple_row) as cur:
        rows = cur.execute(_RECENT, (namespace_id, include_archived, limit)).fetchall()
    return [_entry(row) for row in rows]
