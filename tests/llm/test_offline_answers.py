"""The offline provider: schema-valid, deterministic, visibly marked, confident enough to pass defaults."""

from __future__ import annotations

from typing import Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from cognitionos_dagster.agents.schemas import BUILTIN_SCHEMAS
from cognitionos_dagster.llm.offline import OFFLINE_MARK, offline_answer


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    return []


class Step(BaseModel):
    name: str
    priority: Literal["low", "high"]
    retries: int = Field(ge=2, le=5)


class Custom(BaseModel):
    steps: list[Step] = Field(min_length=3)
    score: float = Field(gt=1, le=10)
    label: str = Field(max_length=12)
    note: str | None = None
    flags: dict[str, bool]
    ok: bool


@pytest.mark.parametrize("role", sorted(BUILTIN_SCHEMAS))
def test_every_builtin_role_gets_a_valid_marked_confident_answer(role: str) -> None:
    _, output_model = BUILTIN_SCHEMAS[role]
    data = offline_answer(output_model.model_json_schema(), {"text": "Deploy the web app"})
    output = output_model.model_validate(data)
    assert output.confidence >= 0.8
    texts = _strings(data)
    assert texts and all(t.startswith(OFFLINE_MARK) for t in texts)
    assert any("Deploy the web app" in t for t in texts)


def test_custom_schemas_with_refs_enums_bounds_and_nesting() -> None:
    data = offline_answer(Custom.model_json_schema(), {"goal": "x"})
    custom = Custom.model_validate(data)
    assert len(custom.steps) == 3 and custom.steps[0].priority == "low" and custom.steps[0].retries == 2
    assert 1 < custom.score <= 10 and len(custom.label) <= 12


@settings(max_examples=60, deadline=None)
@given(hint=st.dictionaries(st.text(min_size=1, max_size=10), st.one_of(st.text(max_size=80), st.integers()),
                            max_size=4),
       role=st.sampled_from(sorted(BUILTIN_SCHEMAS)))
def test_any_input_gives_a_valid_deterministic_answer(hint: dict[str, object], role: str) -> None:
    schema = BUILTIN_SCHEMAS[role][1].model_json_schema()
    first = offline_answer(schema, hint)
    BUILTIN_SCHEMAS[role][1].model_validate(first)
    assert offline_answer(schema, dict(hint)) == first


def test_reporting_lists_stay_empty_offline() -> None:
    data = offline_answer(BUILTIN_SCHEMAS["executor"][1].model_json_schema(), {"task_description": "build"})
    assert data["tools_used"] == [] and data["errors"] == []
