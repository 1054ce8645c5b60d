"""Structured values given for an agent's text fields arrive as text; fitting values are untouched."""

from __future__ import annotations

import json

import pytest

from cognitionos_dagster.agents.input_text import coerce_text_fields
from cognitionos_dagster.agents.requests import AgentInputError, AgentRequest
from cognitionos_dagster.agents.runtime import AgentRuntime
from cognitionos_dagster.agents.schemas import CriticAgentInput, SummarizerAgentInput
from cognitionos_dagster.agents.strategies import PERMANENT_ERRORS
from cognitionos_dagster.settings import load_settings


def test_lists_and_mappings_become_text_for_text_fields_only() -> None:
    data = {"content": ["step one", "step two", {"n": 3}], "criteria": ["safety"], "context": {"env": "prod"}}
    coerced = coerce_text_fields(CriticAgentInput, data)
    assert coerced["content"] == 'step one\nstep two\n{"n": 3}'
    assert coerced["criteria"] == ["safety"]  # a list field stays a list
    assert json.loads(coerced["context"]) == {"env": "prod"}  # Optional[str] counts as text
    assert coerce_text_fields(SummarizerAgentInput, {"content": "as is", "max_length": 5}) == {
        "content": "as is", "max_length": 5}


def test_a_plan_list_reaches_the_critic_as_text() -> None:
    runtime = AgentRuntime(load_settings())
    result = runtime.run(AgentRequest(role="critic", input={"content": ["a", "b"], "criteria": ["safety"]}))
    assert result.offline and 0.0 <= result.output["overall_quality"] <= 1.0


def test_invalid_input_is_a_permanent_error() -> None:
    runtime = AgentRuntime(load_settings())
    with pytest.raises(AgentInputError, match="critic") as info:
        runtime.run(AgentRequest(role="critic", input={"content": 3}))
    assert isinstance(info.value, PERMANENT_ERRORS)  # the compiler does not retry it
