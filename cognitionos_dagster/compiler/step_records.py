"""Step rows written off the op's thread, in batches; the execution row's writes flush them first.

A step row costs a database round trip; written synchronously it was a third of what a compiled
step adds to a plain Dagster op. Nothing in a run reads its own step rows, so they are queued and
written every `max_delay` seconds (or every `max_batch` rows) by one background thread. Ending the
execution — success in `_outputs`, failure in the failing op — flushes synchronously first, as does
process exit, so the rows are there when a run's status is.
"""

from __future__ import annotations

import atexit
import logging
import threading
from typing import Any

from cognitionos_dagster.db.repositories.executions import ExecutionRepository, ExecutionRow, StepRecord, StepRow

log = logging.getLogger(__name__)


class BufferedExecutions:
    """ExecutionRepository's write side with step rows batched; reads and execution rows go straight through."""

    def __init__(self, repo: ExecutionRepository, *, max_delay: float = 0.2, max_batch: int = 200) -> None:
        self.repo = repo
        self.max_delay = max_delay
        self.max_batch = max_batch
        self._pending: list[StepRecord] = []
        self._lock = threading.Lock()  # guards _pending
        self._write_lock = threading.Lock()  # one writer at a time keeps upserts in order
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        atexit.register(self.flush)

    def record_step(self, rec: StepRecord) -> None:
        with self._lock:
            self._pending.append(rec)
            full = len(self._pending) >= self.max_batch
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="step-records", daemon=True)
                self._thread.start()
        if full:
            self._wake.set()

    def flush(self) -> None:
        with self._write_lock:
            with self._lock:
                batch, self._pending = self._pending, []
            if batch:
                self.repo.record_steps(batch)

    def _loop(self) -> None:
        while True:
            self._wake.wait(self.max_delay)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # the next flush (or the run's end) retries; never lose the thread
                log.exception("writing step records failed; will retry")

    # ------------------------------------------------------------------ straight through, after a flush
    def start(self, run_id: str, **kwargs: Any) -> None:
        self.flush()
        self.repo.start(run_id, **kwargs)

    def finish(self, run_id: str, **kwargs: Any) -> None:
        self.flush()
        self.repo.finish(run_id, **kwargs)

    def get(self, run_id: str) -> ExecutionRow | None:
        self.flush()
        return self.repo.get(run_id)

    def steps(self, run_id: str) -> list[StepRow]:
        self.flush()
        return self.repo.steps(run_id)
