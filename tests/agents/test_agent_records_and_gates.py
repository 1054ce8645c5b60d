"""The pipeline's side effects on a real database: call records, gate results, replay, memory."""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from support.openai_server import chat_reply

from cognitionos_dagster.agents.executor import AgentExecutor, PipelineState
from cognitionos_dagster.agents.runtime import AgentRequest, AgentRuntime
from cognitionos_dagster.db.repositories.calls import CallRecordRepository
from cognitionos_dagster.errors import ConfigError, GateFailed
from cognitionos_dagster.llm.types import ChatMessage
from cognitionos_dagster.settings import load_settings
from cognitionos_dagster.tracing import configure_tracing, reset_tracing

SUMMARY = {"summary": "deployed", "key_points": ["web", "api"], "confidence": 0.9}
CRITIQUE = {"issues": ["vague"], "suggestions": ["be concrete"], "confidence": 0.9}


def test_strict_gate_failing_raises_and_is_recorded(openai_server, make_runtime, db) -> None:
    openai_server.enqueue(chat_reply(SUMMARY), chat_reply({**CRITIQUE, "overall_quality": 0.3}),  # round 0
                          chat_reply({**SUMMARY, "summary": "worse"}), chat_reply({**CRITIQUE, "overall_quality": 0.2}))
    runtime = make_runtime(openai_server, db=db)
    with pytest.raises(GateFailed, match=r"quality gate 'strict' rejected the output for step 'sum': quality 0.30"):
        runtime.run(AgentRequest(role="summarizer", input={"content": "x"}, run_id="r1", step_id="sum",
                                 quality_gate="strict"))
    row = db.fetch_one("SELECT * FROM quality_gate_results WHERE run_id = 'r1'")
    assert row is not None and not row["passed"] and row["policy_name"] == "strict"
    assert row["agent_role"] == "summarizer" and row["quality_score"] == pytest.approx(0.3)
    policy = db.fetch_one("SELECT * FROM quality_gate_policies WHERE id = %s", (row["policy_id"],))
    assert policy is not None and policy["name"] == "strict" and policy["require_self_critique"]
    steps = {r["step_id"]: r["prompt_version"] for r in CallRecordRepository(db).for_run("r1")}
    # the critic's reviews and the revision are recorded as their own calls, named by round
    assert steps == {"sum": "v1", "sum.critique": "v1", "sum.revise[1]": "v1", "sum.critique[1]": "v1"}


def test_default_gate_records_a_low_score_without_blocking(openai_server, make_runtime, db) -> None:
    openai_server.enqueue(chat_reply({"summary": "", "key_points": [], "confidence": 0.9}))
    result = make_runtime(openai_server, db=db).run(
        AgentRequest(role="summarizer", input={"content": "x"}, run_id="r2", step_id="s", quality_gate="default"))
    assert result.quality_score == 0.0
    row = db.fetch_one("SELECT passed, failure_reason FROM quality_gate_results WHERE run_id = 'r2'")
    assert row == {"passed": False, "failure_reason": "quality 0.00 < 0.50"}


def test_replay_serves_model_and_memory_from_the_records(openai_server, make_runtime, db, memory) -> None:
    memory.store("team", "ann", "web runs on port 8080")
    request = AgentRequest(role="summarizer", input={"content": "deploy notes"}, run_id="r3", step_id="sum",
                           memory_namespace="team", user="ann")
    openai_server.enqueue(chat_reply(SUMMARY))
    first = make_runtime(openai_server, db=db, memory=memory).run(request)
    prompt = openai_server.chat_requests()[0].json["messages"][0]["content"]
    assert "- web runs on port 8080" in prompt
    assert memory.queries == [("team", "ann", "deploy notes", 5)]
    assert len(memory.items) == 2 and memory.items[1][0] == "team" and '"deployed"' in memory.items[1][1]

    memory.store("team", "ann", "a memory written after the run")  # replay must not see it
    served = len(openai_server.requests)
    replay = make_runtime(openai_server, db=db, memory=memory).run(
        request.model_copy(update={"run_id": "r4", "replay_run_id": "r3"}))
    assert replay.output == first.output and replay.cost_usd == 0
    assert len(openai_server.requests) == served and len(memory.queries) == 1 and len(memory.items) == 3
    kinds = sorted((r["kind"], r["name"]) for r in CallRecordRepository(db).for_run("r4"))
    assert kinds == [("llm", "gpt-4o-mini"), ("tool", "memory.retrieve")]


def test_each_stage_is_a_named_span(make_runtime) -> None:
    exporter = InMemorySpanExporter()
    configure_tracing(load_settings(), exporter=exporter, install_global=False)
    try:
        make_runtime().run(AgentRequest(role="planner", input={"goal": "g"}, run_id="r5", step_id="p"))
    finally:
        reset_tracing()
    names = [s.name for s in exporter.get_finished_spans()]
    stages = ["gather_context", "build_prompt", "call_model", "validate_output", "quality_gate", "record",
              "store_memory", "audit"]
    assert [n for n in names if n.removeprefix("agent.") in stages] == [f"agent.{s}" for s in stages]
    assert names[-1] == "agent.run" and "llm.call" in names


def test_stages_are_overridable(resources: Path) -> None:
    class ShoutingExecutor(AgentExecutor):
        def build_prompt(self, call: PipelineState) -> list[ChatMessage]:
            messages = super().build_prompt(call)
            return [*messages, ChatMessage(role="user", content="LOUDER")]

    runtime = AgentRuntime(load_settings(resources_dir=resources), executor_class=ShoutingExecutor)
    result = runtime.run(AgentRequest(role="summarizer", input={"content": "x"}))
    assert result.offline and isinstance(runtime.executor, ShoutingExecutor)


def test_latest_prompt_version_is_resolved_and_recorded(resources: Path, make_runtime, db) -> None:
    (resources / "prompts" / "summarizer" / "v2.md").write_text("Summarise {{ input.content }}. {{ output_schema }}")
    agent_file = resources / "agents" / "summarizer.yaml"
    agent_file.write_text(agent_file.read_text().replace("prompt_version: v1", "prompt_version: latest"))
    result = make_runtime(resources=resources, db=db).run(
        AgentRequest(role="summarizer", input={"content": "x"}, run_id="r6", step_id="s"))
    assert result.prompt_version == "v2"
    assert [r["prompt_version"] for r in CallRecordRepository(db).for_run("r6")] == ["v2"]


def test_prompts_are_sandboxed(resources: Path, make_runtime) -> None:
    (resources / "prompts" / "summarizer" / "v1.md").write_text("{{ input.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(ConfigError, match=r"summarizer/v1\.md"):
        make_runtime(resources=resources).run(AgentRequest(role="summarizer", input={"content": "x"}))


def test_an_answer_that_fails_validation_is_recorded_as_invalid_output_and_replayed(openai_server, make_runtime,
                                                                                      db) -> None:
    plan = {"plan": ["build", "ship"], "reasoning": "simple", "confidence": 0.9, "estimated_duration": "1 hour"}
    openai_server.enqueue(chat_reply("{'plan': oops", prompt_tokens=40, completion_tokens=4), chat_reply(plan))
    request = AgentRequest(role="planner", input={"goal": "Deploy"}, run_id="r5", step_id="plan")
    make_runtime(openai_server, db=db).run(request)
    rows = [r for r in CallRecordRepository(db).for_run("r5") if r["kind"] == "llm"]
    assert [r["status"] for r in rows] == ["invalid_output", "ok"]
    assert "not valid JSON" in rows[0]["error"] and rows[0]["cost_usd"] > 0  # its tokens were paid for

    asked = len(openai_server.requests)
    replay = make_runtime(openai_server, db=db).run(request.model_copy(update={"run_id": "r6", "replay_run_id": "r5"}))
    assert replay.output == plan and replay.attempts == 2 and len(openai_server.requests) == asked
    assert [r["status"] for r in CallRecordRepository(db).for_run("r6")] == ["invalid_output", "ok"]
