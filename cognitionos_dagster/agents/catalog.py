"""Agent definitions are data: one YAML file per role in resources/agents/, validated at load.

A bad file is a ConfigError naming the file and line; nothing is half-loaded.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from cognitionos_dagster.agents.schema_models import SchemaModelError, import_model, model_from_json_schema
from cognitionos_dagster.agents.schemas import BUILTIN_SCHEMAS
from cognitionos_dagster.dsl.models import ReassignSpec
from cognitionos_dagster.errors import ConfigError
from cognitionos_dagster.llm.yaml_source import YamlSource, load_yaml_source

StrategyName = Literal["retry", "skip", "reassign", "escalate", "fail"]
DEFAULT_MODEL = "default"  # "the configured model": COGNITIONOS_LLM_MODEL
HINT = "see docs/agents.md#agent-definitions"


class AgentFile(BaseModel):
    """What a user writes in resources/agents/<role>.yaml."""

    model_config = ConfigDict(extra="forbid")

    role: str = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")
    description: str = ""
    model: str = DEFAULT_MODEL
    fallback_models: list[str] = []
    temperature: float = Field(default=0.2, ge=0, le=2)
    allowed_tools: list[str] = []
    max_tool_rounds: int = Field(default=5, ge=1, le=50)  # model answers with tool calls before giving up
    max_parallel_tools: int = Field(default=4, ge=1, le=32)  # calls of one answer running at once
    failure_strategy: StrategyName = "retry"
    reassign_to: ReassignSpec | None = None
    max_retries: int = Field(default=3, ge=0, le=20)
    retry_delay_seconds: float = Field(default=2.0, ge=0, le=3600)
    confidence_threshold: float = Field(default=0.7, ge=0, le=1)
    prompt_version: str = "v1"
    max_reasks: int = Field(default=2, ge=0, le=10)
    memory_k: int = Field(default=5, ge=0, le=100)
    quality_policy: str = "default"  # whose budgets the agent_metrics checks hold this role to
    input_schema: dict[str, Any] | str | None = None
    output_schema: dict[str, Any] | str | None = None

    @field_validator("prompt_version")
    @classmethod
    def _version(cls, value: str) -> str:
        if value != "latest" and not re.fullmatch(r"v[1-9][0-9]*", value):
            raise ValueError("prompt_version is v<N> (v1, v2, ...) or latest")
        return value


class AgentDefinition(AgentFile):
    """A loaded role: the file's settings plus its resolved input and output models."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    input_model: type[BaseModel]
    output_model: type[BaseModel]
    source: Path
    builtin: bool = False
    given: frozenset[str] = frozenset()  # the fields the file sets; the others are defaults

    def failure_defaults(self) -> dict[str, Any]:
        """The failure settings this file gives (for a step that gives none): strategy, attempts, delay.

        Only what the file says: a silent file leaves the platform default in force.
        """
        out: dict[str, Any] = {}
        if "failure_strategy" in self.given:
            out["on_failure"] = self.failure_strategy
        if "max_retries" in self.given:
            out["max_attempts"] = self.max_retries + 1
        if "retry_delay_seconds" in self.given:
            out["delay_seconds"] = self.retry_delay_seconds
        if self.reassign_to is not None:
            out["reassign_to"] = self.reassign_to.model_dump(exclude_none=True)
        elif self.fallback_models and self.failure_strategy == "reassign":
            out["reassign_to"] = {"model": "fallback"}
        return out


class AgentCatalog:
    def __init__(self, definitions: dict[str, AgentDefinition]) -> None:
        self._definitions = dict(sorted(definitions.items()))

    def names(self) -> list[str]:
        return list(self._definitions)

    def __contains__(self, role: object) -> bool:
        return role in self._definitions

    def get(self, role: str) -> AgentDefinition:
        try:
            return self._definitions[role]
        except KeyError:
            raise ConfigError(f"unknown agent role {role!r} (known: {', '.join(self._definitions) or 'none'})",
                              hint="add resources/agents/<role>.yaml or use a known role") from None

    def all(self) -> list[AgentDefinition]:
        return list(self._definitions.values())


def _schema_model(source: YamlSource, value: dict[str, Any] | str, key: str, role: str) -> type[BaseModel]:
    kind = "Input" if key == "input_schema" else "Output"
    name = "".join(part.title() for part in role.split("_")) + f"Agent{kind}"
    try:
        if isinstance(value, str):
            return import_model(value)
        return model_from_json_schema(value, name, extra="forbid" if kind == "Input" else "ignore")
    except SchemaModelError as exc:
        raise source.error(f"{key}: {exc}", (key, *exc.loc), hint=HINT) from exc
    except ValueError as exc:
        raise source.error(f"{key}: {exc}", (key,), hint=HINT) from exc


def _definition(path: Path, prompts_dir: Path) -> AgentDefinition:
    source = load_yaml_source(path)
    if not isinstance(source.data, dict):
        raise source.error("an agent file holds one mapping", hint=HINT)
    data = {"role": path.stem, **source.data}
    try:
        spec = AgentFile.model_validate(data)
    except ValidationError as exc:
        raise source.validation_error(exc, hint=HINT) from exc
    if spec.role != path.stem:
        raise source.error(f"role {spec.role!r} differs from its file name {path.stem!r}", ("role",), hint=HINT)
    if spec.failure_strategy == "reassign" and spec.reassign_to is None and not spec.fallback_models:
        raise source.error("failure_strategy reassign needs reassign_to or fallback_models", ("failure_strategy",),
                           hint=HINT)
    builtin = spec.role in BUILTIN_SCHEMAS
    if builtin:
        if spec.input_schema is not None or spec.output_schema is not None:
            key = "input_schema" if spec.input_schema is not None else "output_schema"
            raise source.error(f"{spec.role} is a built-in role with fixed schemas; remove {key}", (key,), hint=HINT)
        input_model, output_model = BUILTIN_SCHEMAS[spec.role]
    else:
        if spec.input_schema is None or spec.output_schema is None:
            key = "input_schema" if spec.input_schema is None else "output_schema"
            raise source.error(f"custom role {spec.role!r} must declare {key} (JSON Schema or import path)",
                               hint=HINT)
        input_model = _schema_model(source, spec.input_schema, "input_schema", spec.role)
        output_model = _schema_model(source, spec.output_schema, "output_schema", spec.role)
    wanted = "v*.md" if spec.prompt_version == "latest" else f"{spec.prompt_version}.md"
    if not any((prompts_dir / spec.role).glob(wanted)):
        raise source.error(f"no prompt {spec.role}/{spec.prompt_version}.md in {prompts_dir}", ("prompt_version",),
                           hint=f"write {prompts_dir / spec.role / (spec.prompt_version + '.md')}")
    return AgentDefinition(**spec.model_dump(), input_model=input_model, output_model=output_model, source=path,
                           builtin=builtin, given=frozenset(spec.model_fields_set))


def load_agent_catalog(resources_dir: Path) -> AgentCatalog:
    """Every resources/agents/*.yaml; the first bad file raises ConfigError with its file:line."""
    folder = resources_dir / "agents"
    definitions: dict[str, AgentDefinition] = {}
    if folder.is_dir():
        for path in sorted(folder.glob("*.y*ml")):
            definition = _definition(path, resources_dir / "prompts")
            definitions[definition.role] = definition
    return AgentCatalog(definitions)
