"""Tool calls in call_records (real PostgreSQL) and deterministic replay from them."""

from __future__ import annotations

import pytest

from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.db.repositories.calls import CallRecordRepository
from cognitionos_dagster.errors import ReplayError
from cognitionos_dagster.settings import Settings
from cognitionos_dagster.tools import ToolContext, ToolRegistry
from cognitionos_dagster.tools.builtin import ExecutePythonTool
from cognitionos_dagster.tools.sandbox import SandboxConfig

from .sample_tools import CountingAdd, Exploding


@pytest.fixture
def recorder(db: Database) -> CallRecordRepository:
    return CallRecordRepository(db)


def context(settings: Settings, recorder: CallRecordRepository, run_id: str, replay_of: str | None = None,
            step: str = "build") -> ToolContext:
    return ToolContext(settings=settings, run_id=run_id, step_id=step, recorder=recorder, replay_run_id=replay_of)


def test_calls_are_recorded(settings: Settings, recorder: CallRecordRepository) -> None:
    add, reg = CountingAdd(), ToolRegistry()
    reg.register(add)
    reg.register(Exploding())
    ctx = context(settings, recorder, "run-a")
    reg.run("add", {"a": 1, "b": 2}, ctx)
    reg.run("add", {"a": -1, "b": 2}, ctx)
    reg.run("explode", {}, ctx)
    rows = recorder.for_run("run-a")
    assert [(r["kind"], r["name"], r["status"], r["step_id"]) for r in rows] == [
        ("tool", "add", "ok", "build"), ("tool", "add", "failed", "build"), ("tool", "explode", "error", "build")]
    assert rows[0]["request"] == {"tool": "add", "input": {"a": 1, "b": 2}}
    assert rows[0]["response"]["total"] == 3 and rows[0]["latency_ms"] is not None
    assert rows[1]["error"] == "negative numbers are not supported"
    assert rows[2]["error"] == "RuntimeError: the tool blew up"


def test_replay_serves_recorded_outputs_without_running(settings: Settings, recorder: CallRecordRepository) -> None:
    add = CountingAdd()
    reg = ToolRegistry([add])
    original = context(settings, recorder, "run-orig")
    first = [reg.run("add", {"a": 1, "b": 2}, original).model_dump() for _ in range(2)]  # same request twice
    other = reg.run("add", {"a": 5, "b": 5}, original).model_dump()
    assert add.calls == 3 and first[0]["total"] != first[1]["total"]  # each real call answers differently

    replay = context(settings, recorder, "run-replay", replay_of="run-orig")
    again = [reg.run("add", {"a": 1, "b": 2}, replay).model_dump() for _ in range(2)]
    assert reg.run("add", {"a": 5, "b": 5}, replay).model_dump() == other
    assert again == first  # the n-th call with the same hash gets the n-th answer
    assert add.calls == 3  # nothing ran
    assert len(recorder.for_run("run-replay")) == 3  # the replay is itself recorded


def test_failed_calls_are_not_served(settings: Settings, recorder: CallRecordRepository) -> None:
    add = CountingAdd()
    reg = ToolRegistry([add])
    reg.run("add", {"a": -1, "b": 0}, context(settings, recorder, "run-f"))
    with pytest.raises(ReplayError, match="no recorded successful call"):
        reg.run("add", {"a": -1, "b": 0}, context(settings, recorder, "run-f2", replay_of="run-f"))


def test_missing_recording_names_run_step_and_tool(settings: Settings, recorder: CallRecordRepository) -> None:
    reg = ToolRegistry([CountingAdd()])
    reg.run("add", {"a": 1, "b": 1}, context(settings, recorder, "run-m"))
    replay = context(settings, recorder, "run-m2", replay_of="run-m", step="other_step")
    with pytest.raises(ReplayError) as info:
        reg.run("add", {"a": 1, "b": 1}, replay)
    assert "run run-m, step other_step, tool 'add', call #1" in str(info.value)
    # A different input in the right step is missing too; a third identical call has no recording either.
    same_step = context(settings, recorder, "run-m3", replay_of="run-m")
    with pytest.raises(ReplayError, match="call #1"):
        reg.run("add", {"a": 9, "b": 1}, same_step)
    reg.run("add", {"a": 1, "b": 1}, same_step)
    with pytest.raises(ReplayError, match="call #2"):
        reg.run("add", {"a": 1, "b": 1}, same_step)


def test_replay_without_a_recorder_is_an_error(settings: Settings) -> None:
    ctx = ToolContext(settings=settings, run_id="r", step_id="s", replay_run_id="old")
    with pytest.raises(ReplayError, match="no call recorder"):
        ToolRegistry([CountingAdd()]).run("add", {"a": 1, "b": 1}, ctx)


def test_execute_python_is_replayed_exactly(settings: Settings, recorder: CallRecordRepository) -> None:
    reg = ToolRegistry([ExecutePythonTool(SandboxConfig(cpu_seconds=2))])
    code = {"code": "import random\nprint(random.random())"}
    first = reg.run("execute_python", code, context(settings, recorder, "run-py"))
    assert first.success
    fresh = reg.run("execute_python", code, context(settings, recorder, "run-py-fresh"))
    assert fresh.stdout != first.stdout
    replayed = reg.run("execute_python", code, context(settings, recorder, "run-py-2", replay_of="run-py"))
    assert replayed.model_dump() == first.model_dump()
