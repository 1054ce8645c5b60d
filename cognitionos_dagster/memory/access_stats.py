"""Access statistics without a write per row per query: an in-process buffer, flushed in one UPDATE.

Reads record (id, count, last time) here, which costs a dict update. A background thread
writes the buffer with a single `UPDATE ... FROM unnest(...)` every `max_age_seconds`, at
once when it holds `max_pending` ids, on `flush()`/`close()`, and when the process ends
(normally, or as a forked multiprocessing child, which skips `atexit`), even for a store
nobody closed. A forked child starts with an empty buffer: what the parent recorded is the
parent's to write. A read never waits for that write (a flush costs tens of times a search;
docs/benchmarks.md, "Measurements behind the code") unless the buffer has grown to four times
`max_pending` because flushes keep failing or fall behind: then the read flushes itself
rather than let the buffer grow without bound. Counts are additive, so two processes
flushing the same ids never lose an access, and a failed flush keeps its counts for the
next one.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing.util
import os
import threading
from datetime import UTC, datetime
from typing import Any

import psycopg

from cognitionos_dagster.db.connection import Database

log = logging.getLogger(__name__)

# The arrays go in binary (%b). In text format psycopg spends about ten times the CPU writing the
# ids, counts and times, holding the GIL, so a search on another thread stalled for the whole of it
# (figures in docs/benchmarks.md, "Measurements behind the code").
_FLUSH_SQL = """
UPDATE memories m
SET access_count = m.access_count + u.n,
    last_accessed_at = greatest(coalesce(m.last_accessed_at, u.at), u.at)
FROM unnest(%b::uuid[], %b::int[], %b::timestamptz[]) AS u(id, n, at)
WHERE m.id = u.id
"""

# Only within the flush's transaction. The planner costs pages as if read from disk and, for a few
# thousand ids, walks the whole primary key in a merge join: a walk that grows with the table,
# where lookups by key read a few times fewer buffers (docs/benchmarks.md, "Measurements behind the code").
_FLUSH_BY_KEY = "SELECT set_config('enable_mergejoin', 'off', true), set_config('enable_hashjoin', 'off', true)"


def write_reads(conn: psycopg.Connection[Any], pending: dict[str, tuple[int, datetime]]) -> int:
    """Add counts and last-read times in one statement, in the caller's transaction.

    Ids go in key order: time-ordered ids put neighbours on neighbouring pages, so the key
    lookups walk the index and the table mostly forwards, measurably faster than in random order
    (docs/benchmarks.md, "Measurements behind the code").
    """
    ids = sorted(pending)
    conn.execute(_FLUSH_BY_KEY)
    cur = conn.execute(_FLUSH_SQL, (ids, [pending[i][0] for i in ids], [pending[i][1] for i in ids]))
    return cur.rowcount


# Buffers holding reads since they were last closed. Held strongly on purpose: a store dropped
# without `close()` (a Dagster step's, a script's) still has its reads written when the process ends.
_active: set[AccessStatsBuffer] = set()
_active_lock = threading.Lock()


class AccessStatsBuffer:
    def __init__(self, db: Database, *, max_pending: int = 5_000, max_age_seconds: float = 5.0) -> None:
        self.db = db
        self.max_pending = max_pending
        self.max_age_seconds = max_age_seconds
        self._pending: dict[str, tuple[int, datetime]] = {}
        self._lock = threading.Lock()
        self._flusher: _Flusher | None = None
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
            pending = len(self._pending)
        flusher = self._flusher or self._start_flusher()
        if pending >= 4 * self.max_pending:
            self.flush()
        elif pending >= self.max_pending:
            flusher.wake.set()

    def flush(self) -> int:
        """Write everything pending in one statement; returns how many memories were updated."""
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return 0
        try:
            with self.db.connection() as conn:
                updated = write_reads(conn, pending)
        except Exception:
            with self._lock:  # keep the counts for the next flush rather than lose them
                for memory_id, (count, at) in pending.items():
                    old_count, old_at = self._pending.get(memory_id, (0, at))
                    self._pending[memory_id] = (old_count + count, max(old_at, at))
            raise
        self.flushes += 1
        return updated

    def close(self) -> int:
        """Stop the background thread and write what is pending (errors reach the caller)."""
        with self._lock:
            flusher, self._flusher = self._flusher, None
        with _active_lock:
            _active.discard(self)
        if flusher is not None:
            flusher.stop()
        return self.flush()

    def _start_flusher(self) -> _Flusher:
        with self._lock:
            if self._flusher is None:
                self._flusher = _Flusher(self)
            flusher = self._flusher  # a close() on another thread may reset the attribute meanwhile
        with _active_lock:
            _active.add(self)
        _flush_when_this_process_ends()
        return flusher

    def _forget_inherited(self) -> None:
        """In a forked child: what the parent recorded is the parent's to write, its thread is gone."""
        self._pending = {}
        self._lock = threading.Lock()  # another thread of the parent may have held it at the fork
        self._flusher = None


class _Flusher:
    """The thread that flushes one buffer every `max_age_seconds`, or at once when woken."""

    def __init__(self, buffer: AccessStatsBuffer) -> None:
        self.wake = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(buffer,), name="cognitionos-access-stats",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self.wake.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=30)

    def _run(self, buffer: AccessStatsBuffer) -> None:
        while not self._stopped.is_set():
            self.wake.wait(buffer.max_age_seconds)
            self.wake.clear()
            if self._stopped.is_set():
                return
            try:
                buffer.flush()
            except Exception as exc:  # kept for the next flush; a read must never see this thread's errors
                log.warning("could not write memory access statistics (kept for the next try): %s", exc)


@atexit.register
def _flush_at_exit() -> None:
    """Write the reads of every buffer nobody closed."""
    with _active_lock:
        buffers = list(_active)
    for buffer in buffers:
        try:
            buffer.close()
        except Exception as exc:
            log.warning("could not write memory access statistics at exit: %s", exc)


_exit_hooked_in = 0


def _flush_when_this_process_ends() -> None:
    """A forked multiprocessing child ends with `os._exit`, which skips `atexit`; multiprocessing runs
    its own finalizers first, registered in the child itself (the parent's are dropped at the fork)."""
    global _exit_hooked_in
    if _exit_hooked_in != os.getpid():
        _exit_hooked_in = os.getpid()
        multiprocessing.util.Finalize(None, _flush_at_exit, exitpriority=100)


def _forget_inherited_buffers() -> None:
    global _active_lock
    _active_lock = threading.Lock()
    for buffer in _active:
        buffer._forget_inherited()
    _active.clear()


os.register_at_fork(after_in_child=_forget_inherited_buffers)
