"""AgentRuntime: what the compiler calls to run one agent step.

It loads the role catalog, prompts and quality policies once, validates the step's input
against the role's schema, picks the model chain (override, role model, fallbacks) and
runs the AgentExecutor pipeline.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from cognitionos_dagster.agents.catalog import DEFAULT_MODEL, AgentCatalog, AgentDefinition, load_agent_catalog
from cognitionos_dagster.agents.executor import AgentExecutor
from cognitionos_dagster.agents.input_text import coerce_text_fields
from cognitionos_dagster.agents.output_text import validation_feedback
from cognitionos_dagster.agents.prompts import PromptLibrary
from cognitionos_dagster.agents.requests import AgentInputError, AgentRequest, AgentResult, LowConfidence
from cognitionos_dagster.agents.tool_loop import ToolLoop
from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.db.repositories.calls import CallRecordRepository
from cognitionos_dagster.errors import ConfigError, PermissionDenied
from cognitionos_dagster.llm.client import ModelClient
from cognitionos_dagster.llm.offline import offline_answer
from cognitionos_dagster.memory.interface import MemoryHit, MemoryProvider
from cognitionos_dagster.quality.ab_test import Answer, EvalCase, EvalSet
from cognitionos_dagster.quality.gate import GateResult
from cognitionos_dagster.quality.policies import load_quality_policies
from cognitionos_dagster.settings import Settings
from cognitionos_dagster.tools.registry import ToolRegistry, default_registry

__all__ = ["AgentRequest", "AgentResult", "AgentRuntime", "LowConfidence"]

FALLBACK = "fallback"


class AgentRuntime:
    def __init__(self, settings: Settings, *, db: Database | None = None, memory: MemoryProvider | None = None,
                 tools: ToolRegistry | None = None, client: ModelClient | None = None,
                 executor_class: type[AgentExecutor] = AgentExecutor) -> None:
        """`tools`: what agents may call (default: the built-in tools); `executor_class` swaps stages."""
        self.settings = settings
        self.catalog: AgentCatalog = load_agent_catalog(settings.resources_dir)
        self.prompts = PromptLibrary(settings.resources_dir)
        self.policies = load_quality_policies(settings.resources_dir)
        self.client = client or ModelClient.from_settings(settings, db=db)
        self.tools = tools if tools is not None else default_registry()
        loop = ToolLoop(self.tools, settings, memory=memory, recorder=CallRecordRepository(db) if db else None)
        self.executor = executor_class(client=self.client, prompts=self.prompts, policies=self.policies, db=db,
                                       memory=memory, reviewer=self._review, tool_loop=loop)

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
        """Run one agent request through the role's pipeline (see `AgentExecutor.execute`).

        Args:
            request (AgentRequest): The role, its input (validated against the role's input
                model), the run and step it belongs to, an optional model override (`fallback`
                starts at the role's first fallback model) and an optional run to replay.

        Returns:
            AgentResult: The validated output with model, tokens, cost, latency, confidence and
            quality score.

        Raises:
            ConfigError: Unknown role, or `model: fallback` for a role without fallbacks.
            AgentInputError: The input does not match the role's input model.
            PermissionDenied: The input asks for tools the role may not use.
            ModelError: Every model of the chain failed (`ModelTimeout` when the step's time ran out).
            AgentError: The output stayed invalid after re-asks, or `LowConfidence`.
            GateFailed: The quality gate rejected the output.
            ReplayError: A replay lacks a recording of this call.
        """
        definition = self.catalog.get(request.role)
        agent_input = self.validate_input(definition, request.input)
        models = self.models_for(definition, request.model)
        return self.executor.execute(definition, request, agent_input, models)

    def gate_output(self, role: str, output: dict[str, Any], policy_name: str,
                    agent_input: dict[str, Any] | None = None, *, context: list[str] | None = None) -> GateResult:
        """Evaluate a policy on an output produced elsewhere (`cognos gates evaluate`): the same critic,
        verifier and scorers as a step; an output breaking the role's schema fails the `schema` scorer."""
        from cognitionos_dagster.agents.executor import PipelineState
        from cognitionos_dagster.quality.gate import evaluate
        from cognitionos_dagster.quality.policies import get_policy

        definition = self.catalog.get(role)
        policy = get_policy(self.policies, policy_name)
        try:
            parsed = definition.output_model.model_validate(output)
        except ValidationError as exc:
            return evaluate(policy, output, None, schema_errors=[validation_feedback(exc)], raise_if_blocked=False,
                            agent_role=role, context=context)
        if agent_input is None:  # no input at hand: a schema-valid stand-in, so the prompt renders
            agent_input = offline_answer(definition.input_model.model_json_schema(), {})
        given = self.validate_input(definition, agent_input)
        request = AgentRequest(role=role, input=agent_input or {}, step_id="gates", quality_gate=policy_name)
        call = PipelineState(definition=definition, request=request, input=given,
                         models=self.models_for(definition), output=parsed, raise_if_blocked=False)
        call.messages = self.executor.build_prompt(call)
        call.context = [MemoryHit(id=str(i), content=c, score=1.0, namespace="cli") for i, c in
                        enumerate(context or [])]
        gate = self.executor.quality_gate(call)
        assert gate is not None
        return gate

    def eval_answer(self, eval_set: EvalSet, *, run_id: str) -> Answer:
        """How a prompt A/B test gets an answer: the role answers a case with the given prompt version and
        the eval set's policy judges it. A failing gate is returned, not raised, and the role's confidence
        threshold is left to the gate, so both versions are scored on every case. Cases whose input does
        not fit the role are a ConfigError before any model is called."""
        from cognitionos_dagster.agents.executor import PipelineState
        from cognitionos_dagster.quality.policies import get_policy

        definition = self.catalog.get(eval_set.role)
        get_policy(self.policies, eval_set.policy)
        unknown = [name for name in eval_set.ground_in if name not in definition.input_model.model_fields]
        if unknown:
            fields = ", ".join(definition.input_model.model_fields)
            raise ConfigError(f"{eval_set.source}: ground_in names {', '.join(unknown)}, not fields of the "
                              f"{definition.role} input", hint=f"use some of: {fields}")
        inputs: dict[str, object] = {}
        for case in eval_set.cases:
            try:
                inputs[case.id] = self.validate_input(definition, case.input)
            except AgentInputError as exc:
                raise ConfigError(f"{eval_set.source}: case {case.id!r}: {exc.args[0]}", hint=exc.hint) from exc

        def answer(case: EvalCase, version: str) -> GateResult:
            request = AgentRequest(role=definition.role, input=case.input, run_id=run_id,
                                   step_id=f"{case.id}.{version}", quality_gate=eval_set.policy,
                                   prompt_version=version)
            call = PipelineState(definition=definition, request=request, input=inputs[case.id],  # type: ignore[arg-type]
                             models=self.models_for(definition), raise_if_blocked=False)
            call.messages = self.executor.build_prompt(call)
            first = self.executor.call_model(call, call.messages)
            call.output = self.executor.validate_output(call, first)
            # grounding material only: the model sees the input, the gate checks claims against this
            call.context = [MemoryHit(id=f"{case.id}.{i}", content=text, score=1.0, namespace="eval")
                            for i, text in enumerate(eval_set.grounding(case))]
            gate = self.executor.quality_gate(call)
            assert gate is not None
            return gate

        return answer

    def _review(self, request: AgentRequest) -> AgentResult:
        return self.run(request)
