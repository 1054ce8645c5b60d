"""Agent definitions load from YAML, with the seed's schemas; a bad file names its file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from cognitionos_dagster.agents.catalog import load_agent_catalog
from cognitionos_dagster.agents.schemas import PlannerAgentInput
from cognitionos_dagster.errors import ConfigError
from cognitionos_dagster.settings import PROJECT_ROOT
from cognitionos_dagster.tools.registry import default_registry

SEED_FIELDS = {
    "planner": ({"goal", "context", "constraints"}, {"plan", "reasoning", "confidence", "estimated_duration"}),
    "executor": ({"task_description", "context", "tools_allowed"}, {"result", "tools_used", "confidence", "errors"}),
    "critic": ({"content", "criteria", "context"}, {"issues", "suggestions", "confidence", "overall_quality"}),
    "summarizer": ({"content", "max_length", "style"}, {"summary", "key_points", "confidence"}),
}


def test_shipped_roles_have_the_seed_schemas_exactly() -> None:
    catalog = load_agent_catalog(PROJECT_ROOT / "resources")
    assert catalog.names() == ["critic", "executor", "planner", "summarizer"]
    for role, (inputs, outputs) in SEED_FIELDS.items():
        definition = catalog.get(role)
        assert set(definition.input_model.model_fields) == inputs
        assert set(definition.output_model.model_fields) == outputs
        assert definition.builtin and definition.prompt_version == "v1"
        assert definition.input_model.model_config["extra"] == "forbid"
    planner = catalog.get("planner")
    assert planner.allowed_tools == ["search", "retrieve_memory"] and planner.confidence_threshold == 0.7
    assert PlannerAgentInput(goal="g").constraints == []


def test_every_allowed_tool_of_a_shipped_role_is_registered() -> None:
    registry = default_registry()
    catalog = load_agent_catalog(PROJECT_ROOT / "resources")
    unregistered = {(d.role, tool) for d in catalog.all() for tool in d.allowed_tools if tool not in registry}
    assert unregistered == set()
    described = {tool["name"]: tool for tool in registry.describe()}
    for name in ("search", "retrieve_memory"):  # the planner's: typed input and output, schema from the input
        assert described[name]["input_schema"] == registry.get(name).input_model.model_json_schema()
        assert described[name]["output_schema"]["title"].endswith("Output")


def _write(resources: Path, name: str, text: str, prompt: bool = True) -> Path:
    path = resources / "agents" / f"{name}.yaml"
    path.write_text(text)
    if prompt:
        (resources / "prompts" / name).mkdir(parents=True, exist_ok=True)
        (resources / "prompts" / name / "v1.md").write_text("Translate {{ input.text }}.\n{{ output_schema }}")
    return path


def test_custom_role_with_inline_json_schema(resources: Path) -> None:
    _write(resources, "translator", """\
role: translator
description: Translates text.
failure_strategy: reassign
fallback_models: [gpt-4o]
input_schema:
  type: object
  properties:
    text: {type: string, minLength: 1}
    target: {type: string, enum: [fr, de]}
    tags: {type: array, items: {type: string}}
  required: [text, target]
output_schema:
  type: object
  properties:
    translation: {type: string}
    confidence: {type: number, minimum: 0, maximum: 1}
  required: [translation, confidence]
""")
    definition = load_agent_catalog(resources).get("translator")
    assert not definition.builtin
    ok = definition.input_model.model_validate({"text": "hi", "target": "fr"})
    assert ok.model_dump() == {"text": "hi", "target": "fr", "tags": None}
    for bad in ({"text": "", "target": "fr"}, {"text": "hi", "target": "es"}, {"text": "hi", "target": "fr", "x": 1}):
        with pytest.raises(ValueError):
            definition.input_model.model_validate(bad)


def test_custom_role_with_import_path(resources: Path) -> None:
    _write(resources, "planner2", """\
role: planner2
input_schema: cognitionos_dagster.agents.schemas:PlannerAgentInput
output_schema: cognitionos_dagster.agents.schemas.PlannerAgentOutput
""")
    definition = load_agent_catalog(resources).get("planner2")
    assert definition.input_model.__name__ == "PlannerAgentInput"
    assert definition.output_model.__name__ == "PlannerAgentOutput"


@pytest.mark.parametrize(("text", "line", "message"), [
    ("role: bad\ntemperature: hot\n", 2, "temperature: Input should be a valid number"),
    ("role: bad\nmodel: m\ncolour: red\n", 3, "colour: Extra inputs are not permitted"),
    ("role: bad\nfailure_strategy: pray\n", 2, "failure_strategy: Input should be"),
    ("role: bad\nprompt_version: 1\n", 2, "prompt_version"),
    ("role: other\n", 1, "differs from its file name"),
    ("role: bad\nmodel: [unclosed\n", 3, "YAML"),
    ("role: bad\ninput_schema: {type: object, properties: {a: {type: string}}}\n", 1, "must declare output_schema"),
    ("role: bad\ninput_schema: nowhere.module:Model\noutput_schema: x.y:Z\n", 2,
     "cannot import 'nowhere.module:Model'"),
    ("role: bad\ninput_schema:\n  type: object\n  properties:\n    a: {type: string, format: email}\n"
     "output_schema: {type: object, properties: {b: {type: string}}}\n", 5,
     "unsupported JSON Schema keyword(s): format"),
    ("role: bad\nfailure_strategy: reassign\n", 2, "needs reassign_to or fallback_models"),
    ("role: bad\nfailure_strategy: reassign\nreassign_to: {}\n", 3, "reassign_to needs `agent` and/or `model`"),
])
def test_bad_files_name_file_and_line(resources: Path, text: str, line: int, message: str) -> None:
    path = _write(resources, "bad", text)
    with pytest.raises(ConfigError) as info:
        load_agent_catalog(resources)
    assert str(info.value).startswith(f"{path}:{line}: "), str(info.value)
    assert message in str(info.value)


def test_builtin_roles_may_not_redefine_their_schemas(resources: Path) -> None:
    path = resources / "agents" / "critic.yaml"
    path.write_text(path.read_text() + "output_schema: {type: object, properties: {x: {type: string}}}\n")
    with pytest.raises(ConfigError, match=r"critic\.yaml:\d+: critic is a built-in role with fixed schemas"):
        load_agent_catalog(resources)


def test_a_missing_prompt_is_named(resources: Path) -> None:
    path = _write(resources, "planner", (resources / "agents" / "planner.yaml").read_text().replace("v1", "v7"),
                  prompt=False)
    with pytest.raises(ConfigError, match=rf"{path}:\d+: no prompt planner/v7.md"):
        load_agent_catalog(resources)


def test_unknown_role_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown agent role 'poet' .*critic, executor, planner, summarizer"):
        load_agent_catalog(PROJECT_ROOT / "resources").get("poet")
