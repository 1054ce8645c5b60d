"""What a namespace holds (the seed's analyzer) and how it is used (the seed's visualizer heatmap).

Runs as the application's own role: these are operator views (`cognos memory stats`, the
asset's metadata), not a user's read, so they count every memory and never touch access
statistics. States overlap the way the lifecycle makes them: an archived memory may also
be compressed; `active` means none of compressed, archived, expired.
"""

from __future__ import annotations

from pydantic import BaseModel

from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.memory.models import NamespaceStats

_STATS = """
SELECT n.name AS namespace, p.name AS policy, n.quota_bytes,
       count(m.id) AS total,
       count(m.id) FILTER (WHERE NOT m.compressed AND NOT m.archived
                           AND (m.expires_at IS NULL OR m.expires_at > now())) AS active,
       count(m.id) FILTER (WHERE m.compressed) AS compressed,
       count(m.id) FILTER (WHERE m.archived) AS archived,
       count(m.id) FILTER (WHERE m.expires_at <= now()) AS expired,
       coalesce(sum(coalesce(m.content_bytes, octet_length(m.content))), 0) AS content_bytes,
       coalesce(sum(coalesce(octet_length(m.content), 0) + coalesce(octet_length(m.content_compressed), 0)), 0)
           AS stored_bytes,
       coalesce(sum(m.content_bytes) FILTER (WHERE m.compressed), 0) AS compressed_original_bytes,
       coalesce(sum(octet_length(m.content_compressed)) FILTER (WHERE m.compressed), 0) AS compressed_stored_bytes,
       min(m.created_at) AS oldest, max(m.created_at) AS newest
FROM memory_namespaces n
LEFT JOIN memories m ON m.namespace_id = n.id
LEFT JOIN memory_lifecycle_policies p ON p.id = n.policy_id
{where}
GROUP BY n.id, n.name, p.name, n.quota_bytes
ORDER BY n.name
"""

AGE_BUCKETS = ("< 1 day", "1-7 days", "7-30 days", "30-90 days", "90-365 days", "> 1 year")
ACCESS_BUCKETS = ("never", "1-2", "3-9", "10-99", "100+")

_HEATMAP = """
SELECT width_bucket(extract(epoch FROM now() - m.created_at) / 86400.0, ARRAY[1, 7, 30, 90, 365]::float8[]) AS age,
       width_bucket(m.access_count, ARRAY[1, 3, 10, 100]) AS hits,
       count(*) AS n
FROM memories m JOIN memory_namespaces n ON n.id = m.namespace_id
WHERE n.name = %s
GROUP BY 1, 2
"""


def namespace_stats(db: Database, namespace: str | None = None) -> list[NamespaceStats]:
    where, params = ("WHERE n.name = %s", (namespace,)) if namespace else ("", ())
    return [NamespaceStats.model_validate(r) for r in db.fetch_all(_STATS.format(where=where), params)]


class AccessHeatmap(BaseModel):
    """Memories counted by age (rows) and by how often they were read (columns)."""

    namespace: str
    rows: list[str]
    columns: list[str]
    counts: list[list[int]]

    def to_markdown(self) -> str:
        head = "| age \\ reads | " + " | ".join(self.columns) + " |"
        rule = "|---|" + "---:|" * len(self.columns)
        body = [
            f"| {label} | " + " | ".join(str(c) for c in row) + " |"
            for label, row in zip(self.rows, self.counts, strict=True)
        ]
        return "\n".join([head, rule, *body])


def access_heatmap(db: Database, namespace: str) -> AccessHeatmap:
    counts = [[0] * len(ACCESS_BUCKETS) for _ in AGE_BUCKETS]
    for r in db.fetch_all(_HEATMAP, (namespace,)):
        counts[int(r["age"])][int(r["hits"])] += int(r["n"])
    return AccessHeatmap(namespace=namespace, rows=list(AGE_BUCKETS), columns=list(ACCESS_BUCKETS), counts=counts)
