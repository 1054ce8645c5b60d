"""`apply_policies`: one lifecycle pass (expire, compress, archive, gc) over one or all namespaces.

A pass syncs the policy files, takes an advisory lock for its scope (a second pass on the
same scope fails at once with a clear error instead of doing the same work twice), records
itself in `memory_lifecycle_runs` and commits each step (each compression chunk, each
piece of a split flag update) separately, on two connections (GC runs beside compression
and takes over the expire step: see `_Steps`). If a pass dies half-way, the next pass on
that scope marks the dead run as interrupted, reports it in `resumed_runs`, and its
idempotent steps finish the work.
A dry run writes nothing at all: it counts what each step would change.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from psycopg.types.json import Jsonb
from pydantic import BaseModel, Field

from cognitionos_dagster.db.connection import Database, connect
from cognitionos_dagster.errors import MemoryStoreError
from cognitionos_dagster.memory.access import namespace_id
from cognitionos_dagster.memory.lifecycle_steps import (
    STEPS,
    Blocks,
    StepReport,
    count_step,
    merge,
    pieces,
    run_compress,
    run_gc,
    run_piece,
    scope_params,
)
from cognitionos_dagster.memory.policies import policies_dir, sync_policies


class LifecycleReport(BaseModel):
    """What a pass did (or would do); JSON-able for the CLI, the asset's metadata and workflows."""

    run_id: str | None = None
    namespace: str | None = None
    dry_run: bool = False
    now: datetime
    steps: list[StepReport] = Field(default_factory=list)
    resumed_runs: list[str] = Field(default_factory=list)
    seconds: float = 0.0

    def step(self, name: str) -> StepReport:
        for s in self.steps:
            if s.step == name:
                return s
        return StepReport(step=name)

    @property
    def changed(self) -> int:
        return sum(s.rows for s in self.steps)


def _lock_key(namespace: str | None) -> int:
    digest = hashlib.sha256(f"cognitionos-memory-lifecycle:{namespace or '*'}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def apply_policies(
    db: Database,
    *,
    namespace: str | None = None,
    dry_run: bool = False,
    steps: Sequence[str] = STEPS,
    now: datetime | None = None,
    policies_directory: Path | None = None,
    chunk_size: int = 50_000,
    force_compress: bool = False,
    on_progress: Callable[[str, int], None] | None = None,
) -> LifecycleReport:
    """Apply each namespace's lifecycle policy: expire, compress, archive, then garbage-collect.

    Namespaces without a policy are left alone. Policies are read from the policies folder
    first, so a changed YAML file takes effect on the next pass. One pass at a time per scope
    (an advisory lock); a pass interrupted earlier is closed as such before this one starts.

    Args:
        db (Database): The application database.
        namespace (str | None): One namespace, or None for every namespace with a policy.
        dry_run (bool): Count what each step would touch and change nothing.
        steps (Sequence[str]): A subset of `STEPS`, run in their fixed order.
        now (datetime | None): The reference time for ages (tests); defaults to now.
        policies_directory (Path | None): Where the policy YAML files are; defaults to the resources folder.
        chunk_size (int): Memories compressed per statement.
        force_compress (bool): Compress every plain memory in scope, whatever its age or
            policy (the quota sensor's remedy).
        on_progress (Callable[[str, int], None] | None): Called with a step name and a count as work is done.

    Returns:
        LifecycleReport: Rows touched per step, the pass's run id and its duration.

    Raises:
        MemoryStoreError: An unknown step or namespace, or another pass holds the lock.
        ConfigError: A policy file is invalid.
    """
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        raise MemoryStoreError(f"unknown lifecycle step(s): {', '.join(unknown)}", hint=f"steps: {', '.join(STEPS)}")
    if namespace is not None:
        namespace_id(db, namespace)
    sync_policies(db, policies_directory or policies_dir())
    report = LifecycleReport(namespace=namespace, dry_run=dry_run, now=now or datetime.now(UTC))
    started = datetime.now(UTC)
    ordered = [s for s in STEPS if s in steps]
    if dry_run:
        params = scope_params(namespace, report.now, None)
        report.steps = [count_step(db, s, params, force=force_compress) for s in ordered]
        report.seconds = round((datetime.now(UTC) - started).total_seconds(), 4)
        return report
    with connect(db.url, autocommit=True) as lock_conn:
        got = lock_conn.execute("SELECT pg_try_advisory_lock(%s) AS ok", (_lock_key(namespace),)).fetchone()
        if not got or not got["ok"]:
            scope = f"namespace {namespace!r}" if namespace else "all namespaces"
            raise MemoryStoreError(
                f"another memory lifecycle pass is already running on {scope}",
                hint="wait for it to finish (its steps are the same as this one's), then run again if needed",
            )
        report.resumed_runs = _close_interrupted(db, namespace)
        report.run_id = _start_run(db, namespace)
        params = scope_params(namespace, report.now, report.run_id)
        try:
            _run_steps(db, report, ordered, params, chunk_size=chunk_size, force_compress=force_compress,
                       on_progress=on_progress)
        except BaseException as exc:
            _finish_run(db, report, error=f"{type(exc).__name__}: {exc}")
            raise
        report.seconds = round((datetime.now(UTC) - started).total_seconds(), 4)
        _finish_run(db, report)
    return report


class _Steps:
    """The steps of one pass shared by two workers: what is left, what is done, what to report.

    GC and expire touch only memories past their TTL, compress and archive only live ones, so
    a second worker runs GC while the caller's thread compresses, and then both take the
    flag-update pieces (expire, archive; see `pieces`) in turn: neither core waits while the
    other has work. An archive piece and a compression chunk may meet on a memory that is due
    for both: one waits for the other's row lock, and a deadlock's victim runs again.
    """

    def __init__(self, db: Database, run_id: str, params: dict[str, Any], flagged: Sequence[str]) -> None:
        self.db, self.run_id, self.params = db, run_id, params
        self.results: dict[str, StepReport] = {}
        self.finished: list[str] = []  # done and not yet reported to on_progress
        self.lock = threading.Lock()
        split = pieces(db, params) if flagged else []
        self.queue: deque[tuple[str, Blocks]] = deque((step, blocks) for step in flagged for blocks in split)
        self.parts: dict[str, list[StepReport]] = {step: [] for step in flagged}
        self.expected = len(split)
        self.started: dict[str, float] = {}

    def done(self, step: str, result: StepReport) -> None:
        _step_done(self.db, self.run_id, step)
        with self.lock:
            self.results[step] = result
            self.finished.append(step)

    def take_pieces(self) -> None:
        while True:
            with self.lock:
                if not self.queue:
                    return
                step, blocks = self.queue.popleft()
                self.started.setdefault(step, time.perf_counter())
            try:
                part = run_piece(self.db, step, self.params, blocks)
            except BaseException:
                self.stop()  # the other worker stops after its current statement
                raise
            with self.lock:
                self.parts[step].append(part)
                complete = len(self.parts[step]) == self.expected
            if complete:
                self.done(step, merge(step, self.parts[step], time.perf_counter() - self.started[step]))

    def stop(self) -> None:
        """No more pieces: a worker that failed stops the other after its current statement."""
        with self.lock:
            self.queue.clear()

    def report_progress(self, on_progress: Callable[[str, int], None] | None) -> None:
        with self.lock:
            ready, self.finished[:] = list(self.finished), []
        for step in ready:
            if on_progress is not None and step != "compress":  # compress reports each chunk as it goes
                on_progress(step, self.results[step].rows)


def _run_steps(
    db: Database,
    report: LifecycleReport,
    ordered: list[str],
    params: dict[str, Any],
    *,
    chunk_size: int,
    force_compress: bool,
    on_progress: Callable[[str, int], None] | None,
) -> None:
    """Run the steps on two connections (see `_Steps`), recording each as it finishes; `report.steps`
    keeps the steps' order, and progress is reported on the calling thread. With GC in the
    pass, expiring is GC's job too: it removes those memories directly.
    """
    folded = "expire" in ordered and "gc" in ordered
    flagged = [s for s in ("expire", "archive") if s in ordered and not (s == "expire" and folded)]
    steps = _Steps(db, str(report.run_id), params, flagged)

    def beside() -> None:
        if "gc" in ordered:
            gc, expired = run_gc(db, params)
            if folded:
                steps.done("expire", expired)
            steps.done("gc", gc)
        steps.take_pieces()

    try:
        with ThreadPoolExecutor(1, thread_name_prefix="memory-lifecycle") as pool:
            other = pool.submit(beside)
            try:
                if "compress" in ordered:
                    progress = (lambda n: on_progress("compress", n)) if on_progress else None
                    steps.done("compress", run_compress(db, params, chunk_size=chunk_size, force=force_compress,
                                                        on_chunk=progress))
                steps.report_progress(on_progress)
                steps.take_pieces()
            except BaseException:
                steps.stop()
                raise
            other.result()
        steps.report_progress(on_progress)
    finally:
        report.steps = [steps.results[s] for s in ordered if s in steps.results]


def compressible(db: Database, namespace: str) -> int:
    """How many memories a forced compression would compress now (the quota sensor's trigger)."""
    return count_step(db, "compress", scope_params(namespace, datetime.now(UTC), None), force=True).rows


def _close_interrupted(db: Database, namespace: str | None) -> list[str]:
    """Runs of this scope still marked running are dead: we hold the scope's lock."""
    rows = db.fetch_all(
        """
        UPDATE memory_lifecycle_runs SET status = 'failed', finished_at = now(),
            error = coalesce(error, 'interrupted before it finished; completed by a later pass')
        WHERE status = 'running' AND dry_run = false AND namespace IS NOT DISTINCT FROM %s
        RETURNING id::text AS id
        """,
        (namespace,),
    )
    return [r["id"] for r in rows]


def _start_run(db: Database, namespace: str | None) -> str:
    row = db.fetch_one("INSERT INTO memory_lifecycle_runs (namespace) VALUES (%s) RETURNING id::text AS id",
                       (namespace,))
    assert row is not None
    return str(row["id"])


def _step_done(db: Database, run_id: str, step: str) -> None:
    db.execute("UPDATE memory_lifecycle_runs SET steps_done = array_append(steps_done, %s) WHERE id = %s",
               (step, run_id))


def _finish_run(db: Database, report: LifecycleReport, *, error: str | None = None) -> None:
    db.execute(
        "UPDATE memory_lifecycle_runs SET status = %s, finished_at = now(), report = %s, error = %s WHERE id = %s",
        ("failed" if error else "succeeded", Jsonb(report.model_dump(mode="json")), error, report.run_id),
    )
