"""Buffered step rows: written in order, off the op's thread, and all there when the execution ends."""

from __future__ import annotations

import time

from cognitionos_dagster.compiler.step_records import BufferedExecutions
from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.db.repositories.executions import ExecutionRepository, StepRecord


def test_rows_arrive_in_order_and_finish_flushes(db: Database) -> None:
    repo = ExecutionRepository(db)
    buffered = BufferedExecutions(repo, max_delay=30.0)  # the thread will not flush on its own here
    buffered.start("run-1", workflow_id="w", workflow_version="1.0.0", spec_sha256=None, inputs={})
    buffered.record_step(StepRecord("run-1", "a", "tool", "running", attempts=1, error="boom"))
    buffered.record_step(StepRecord("run-1", "a", "tool", "succeeded", attempts=2, output={"x": 1}))
    assert repo.steps("run-1") == []  # queued, not written on the op's thread
    buffered.finish("run-1", status="success", outputs={"ok": True})
    rows = repo.steps("run-1")
    assert [(r["step_id"], r["status"], r["attempts"], r["output"]) for r in rows] == [
        ("a", "succeeded", 2, {"x": 1})]  # the later upsert won
    assert repo.get("run-1")["status"] == "success"


def test_the_background_thread_writes_without_a_flush(db: Database) -> None:
    repo = ExecutionRepository(db)
    buffered = BufferedExecutions(repo, max_delay=0.05)
    buffered.start("run-2", workflow_id="w", workflow_version="1.0.0", spec_sha256=None, inputs={})
    for i in range(5):
        buffered.record_step(StepRecord("run-2", f"s[{i}]", "tool", "succeeded"))
    deadline = time.monotonic() + 5
    while len(repo.steps("run-2")) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(repo.steps("run-2")) == 5
