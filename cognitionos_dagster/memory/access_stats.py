"""Access statistics without a write per row per query: an in-process buffer, flushed in one UPDATE.

Reads record (id, count, last time) here; the buffer is written with a single
`UPDATE ... FROM unnest(...)` when it holds `max_pending` ids, when `max_age_seconds` have
passed since the last flush (checked on every read), and on `flush()`/`close()`. Counts
are additive, so two processes flushing the same ids never lose an access.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from cognitionos_dagster.db.connection import Database

_FLUSH_SQL = """
UPDATE memories m
SET access_count = m.access_count + u.n,
    last_accessed_at = greatest(coalesce(m.last_accessed_at, u.at), u.at)
FROM unnest(%s::uuid[], %s::int[], %s::timestamptz[]) AS u(id, n, at)
WHERE m.id = u.id
"""


class AccessStatsBuffer:
    def __init__(self, db: Database, *, max_pending: int = 5_000, max_age_seconds: float = 5.0) -> None:
        self.db = db
        self.max_pending = max_pending
        self.max_age_seconds = max_age_seconds
        self._pending: dict[str, tuple[int, datetime]] = {}
        self._lock = threading.Lock()
        self._last_flush = time.monotonic()
        self.flushes = 0

    def __len__(self) -> int:
        return len(self._pending)

    def record(self, ids: list[str]) -> None:
        if not ids:
            return
        now = datetime.now(UTC)
        with self._lock:
            for memory_id in ids:
                count, _ = self._pending.get(memory_id, (0, now))
                self._pending[memory_id] = (count + 1, now)
            due = (
                len(self._pending) >= self.max_pending
                or time.monotonic() - self._last_flush >= self.max_age_seconds
            )
        if due:
            self.flush()

    def flush(self) -> int:
        """Write everything pending in one statement; returns how many memories were updated."""
        with self._lock:
            pending, self._pending = self._pending, {}
            self._last_flush = time.monotonic()
        if not pending:
            return 0
        ids = list(pending)
        counts = [pending[i][0] for i in ids]
        times = [pending[i][1] for i in ids]
        try:
            updated = self.db.execute(_FLUSH_SQL, (ids, counts, times))
        except Exception:
            with self._lock:  # keep the counts for the next flush rather than lose them
                for memory_id, (count, at) in pending.items():
                    old_count, old_at = self._pending.get(memory_id, (0, at))
                    self._pending[memory_id] = (old_count + count, max(old_at, at))
            raise
        self.flushes += 1
        return updated
