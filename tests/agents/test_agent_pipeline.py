"""AgentRuntime end to end: offline, and through the real client against the local server."""

from __future__ import annotations

import json

import pytest
from support.openai_server import chat_reply

from cognitionos_dagster.agents.requests import LowConfidence
from cognitionos_dagster.agents.runtime import AgentRequest
from cognitionos_dagster.agents.schemas import BUILTIN_SCHEMAS
from cognitionos_dagster.errors import AgentError, PermissionDenied
from cognitionos_dagster.llm.offline import OFFLINE_MARK

INPUTS = {
    "planner": {"goal": "Deploy the web app", "constraints": ["budget 1 USD"]},
    "executor": {"task_description": "Deploy service web", "tools_allowed": ["execute_python"]},
    "critic": {"content": "A plan with no rollback", "criteria": ["safety", "rollback plan"]},
    "summarizer": {"content": "Three services were deployed; one needed a retry.", "max_length": 200},
}
PLAN = {"plan": ["build", "ship"], "reasoning": "simple", "confidence": 0.9, "estimated_duration": "1 hour"}


@pytest.mark.parametrize("role", sorted(INPUTS))
def test_offline_every_role_is_valid_marked_and_passes_the_strict_gate(make_runtime, role: str) -> None:
    result = make_runtime().run(AgentRequest(role=role, input=INPUTS[role], quality_gate="strict", step_id="s"))
    BUILTIN_SCHEMAS[role][1].model_validate(result.output)
    assert result.offline and result.model == "offline" and result.prompt_version == "v1"
    assert result.confidence is not None and result.confidence >= 0.8
    assert result.quality_score is not None and result.quality_score >= 0.7
    texts = [t for v in result.output.values() for t in (v if isinstance(v, list) else [v]) if isinstance(t, str)]
    assert texts and all(t.startswith(OFFLINE_MARK) for t in texts)


def test_structured_call_carries_prompt_schema_and_input(openai_server, make_runtime) -> None:
    openai_server.enqueue(chat_reply(PLAN, prompt_tokens=300, completion_tokens=50))
    result = make_runtime(openai_server).run(AgentRequest(role="planner", input=INPUTS["planner"]))
    assert result.output == PLAN and not result.offline and result.attempts == 1
    assert (result.input_tokens, result.output_tokens) == (300, 50)
    assert result.cost_usd == pytest.approx(300 * 0.15e-6 + 50 * 0.6e-6)
    body = openai_server.chat_requests()[0].json
    system, user = body["messages"]
    assert "Goal: Deploy the web app" in system["content"] and "- budget 1 USD" in system["content"]
    assert json.loads(user["content"].split("\n", 1)[1])["goal"] == "Deploy the web app"
    assert body["response_format"]["json_schema"]["name"] == "PlannerAgentOutput"
    assert body["temperature"] == 0.3 and body["model"] == "gpt-4o-mini"


def test_invalid_json_then_a_valid_reask(openai_server, make_runtime) -> None:
    openai_server.enqueue(chat_reply("{'plan': oops"), chat_reply(PLAN))
    result = make_runtime(openai_server).run(AgentRequest(role="planner", input=INPUTS["planner"]))
    assert result.output == PLAN and result.attempts == 2
    reask = openai_server.chat_requests()[1].json["messages"]
    assert reask[-2] == {"role": "assistant", "content": "{'plan': oops"}
    assert "not valid JSON" in reask[-1]["content"]


def test_schema_breaking_answers_exhaust_the_reasks(openai_server, make_runtime) -> None:
    broken = {"plan": "not a list", "confidence": 0.9}
    openai_server.enqueue(*[chat_reply(broken) for _ in range(3)])
    with pytest.raises(AgentError, match="did not match PlannerAgentOutput after 2 re-ask") as info:
        make_runtime(openai_server).run(AgentRequest(role="planner", input=INPUTS["planner"]))
    assert "plan: Input should be a valid list" in str(info.value)
    assert len(openai_server.chat_requests()) == 3
    assert "reasoning: Field required" in openai_server.chat_requests()[1].json["messages"][-1]["content"]


def test_confidence_below_threshold_is_a_failure_with_its_accounting(openai_server, make_runtime) -> None:
    openai_server.enqueue(chat_reply({**PLAN, "confidence": 0.4}, prompt_tokens=10, completion_tokens=5))
    with pytest.raises(LowConfidence, match=r"confidence 0\.40, below its threshold 0\.70") as info:
        make_runtime(openai_server).run(AgentRequest(role="planner", input=INPUTS["planner"]))
    assert isinstance(info.value, AgentError)
    assert info.value.result.input_tokens == 10 and info.value.threshold == 0.7


def test_bad_input_and_forbidden_tools_fail_before_any_model_call(openai_server, make_runtime) -> None:
    runtime = make_runtime(openai_server)
    with pytest.raises(AgentError, match="input for role 'planner' is invalid: goal: Field required"):
        runtime.run(AgentRequest(role="planner", input={"objective": "x"}))
    with pytest.raises(PermissionDenied, match="may not use tools rm_rf"):
        runtime.run(AgentRequest(role="executor", input={"task_description": "x", "tools_allowed": ["rm_rf"]}))
    assert openai_server.chat_requests() == []


def test_model_override_and_reassign_to_fallback(openai_server, make_runtime) -> None:
    openai_server.enqueue(chat_reply(PLAN), chat_reply(PLAN))
    runtime = make_runtime(openai_server)
    assert runtime.run(AgentRequest(role="planner", input=INPUTS["planner"], model="fallback")).model == "gpt-4o"
    assert runtime.run(AgentRequest(role="planner", input=INPUTS["planner"], model="gpt-4.1")).model == "gpt-4.1"
    assert runtime.models_for(runtime.catalog.get("planner"), "gpt-4.1") == ["gpt-4.1", "gpt-4o"]
    assert [r.json["model"] for r in openai_server.chat_requests()] == ["gpt-4o", "gpt-4.1"]
