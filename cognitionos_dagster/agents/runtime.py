"""AgentRuntime: what the compiler calls to run one agent step.

It loads the role catalog, prompts and quality policies once, validates the step's input
against the role's schema, picks the model chain (override, role model, fallbacks) and
runs the AgentExecutor pipeline.
"""

from __future__ import annotations

from pydantic import BaseModel, ValidationError

from cognitionos_dagster.agents.catalog import DEFAULT_MODEL, AgentCatalog, AgentDefinition, load_agent_catalog
from cognitionos_dagster.agents.executor import AgentExecutor
from cognitionos_dagster.agents.input_text import coerce_text_fields
from cognitionos_dagster.agents.output_text import validation_feedback
from cognitionos_dagster.agents.prompts import PromptLibrary
from cognitionos_dagster.agents.requests import AgentInputError, AgentRequest, AgentResult, LowConfidence
from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.errors import ConfigError, PermissionDenied
from cognitionos_dagster.llm.client import ModelClient
from cognitionos_dagster.memory.interface import MemoryProvider
from cognitionos_dagster.quality.policies import load_quality_policies
from cognitionos_dagster.settings import Settings

__all__ = ["AgentRequest", "AgentResult", "AgentRuntime", "LowConfidence"]

FALLBACK = "fallback"


class AgentRuntime:
    def __init__(self, settings: Settings, *, db: Database | None = None, memory: MemoryProvider | None = None,
                 tools: object | None = None, client: ModelClient | None = None,
                 executor_class: type[AgentExecutor] = AgentExecutor) -> None:
        """`tools` is kept for agents that call tools (not wired in yet); `executor_class` swaps stages."""
        self.settings = settings
        self.catalog: AgentCatalog = load_agent_catalog(settings.resources_dir)
        self.prompts = PromptLibrary(settings.resources_dir)
        self.policies = load_quality_policies(settings.resources_dir)
        self.client = client or ModelClient.from_settings(settings, db=db)
        self.tools = tools
        self.executor = executor_class(client=self.client, prompts=self.prompts, policies=self.policies, db=db,
                                       memory=memory, reviewer=self._review)

    def __repr__(self) -> str:
        return f"AgentRuntime(roles={self.catalog.names()}, client={self.client!r})"

    def models_for(self, definition: AgentDefinition, override: str | None = None) -> list[str]:
        """The chain tried in order: the override or the role's model, then its fallbacks."""
        primary = definition.model if definition.model != DEFAULT_MODEL else self.settings.llm_model
        fallbacks = [m if m != DEFAULT_MODEL else self.settings.llm_model for m in definition.fallback_models]
        if override == FALLBACK:
            if not fallbacks:
                raise ConfigError(f"role {definition.role!r} has no fallback_models to reassign to",
                                  hint=f"add fallback_models to {definition.source}")
            return list(dict.fromkeys(fallbacks))
        if override and override != DEFAULT_MODEL:
            primary = override
        return list(dict.fromkeys([primary, *fallbacks]))

    def validate_input(self, definition: AgentDefinition, data: dict[str, object]) -> BaseModel:
        try:
            agent_input = definition.input_model.model_validate(coerce_text_fields(definition.input_model, data))
        except ValidationError as exc:
            raise AgentInputError(f"input for role {definition.role!r} is invalid: {validation_feedback(exc)}",
                             hint=f"match {definition.input_model.__name__} (see `cognos agents --json`)") from exc
        wanted = getattr(agent_input, "tools_allowed", None)
        if wanted:
            denied = sorted(set(wanted) - set(definition.allowed_tools))
            if denied:
                raise PermissionDenied(f"role {definition.role!r} may not use tools {', '.join(denied)}",
                                       hint=f"allowed: {', '.join(definition.allowed_tools) or 'none'}; "
                                       f"edit allowed_tools in {definition.source.name}")
        return agent_input

    def run(self, request: AgentRequest) -> AgentResult:
        """Raises AgentError (LowConfidence), ModelError, GateFailed, ReplayError, PermissionDenied, ConfigError."""
        definition = self.catalog.get(request.role)
        agent_input = self.validate_input(definition, request.input)
        models = self.models_for(definition, request.model)
        return self.executor.execute(definition, request, agent_input, models)

    def _review(self, request: AgentRequest) -> AgentResult:
        return self.run(request)
