"""AgentExecutor: the one pipeline every role runs through, one overridable method per stage.

gather_context -> build_prompt -> call_model (and the tool rounds it asks for, `tool_loop.py`)
-> validate_output -> quality_gate -> record -> store_memory -> audit. Each stage is a span named
`agent.<stage>` and a debug log line, so a slow or failing stage is visible in traces and logs by name.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from cognitionos_dagster.agents.catalog import AgentDefinition
from cognitionos_dagster.agents.output_text import parse_json_object, validation_feedback
from cognitionos_dagster.agents.prompts import PromptLibrary
from cognitionos_dagster.agents.requests import AgentRequest, AgentResult, LowConfidence
from cognitionos_dagster.agents.tool_loop import ToolLoop, ToolSession, with_tools_used
from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.errors import AgentError, ModelError
from cognitionos_dagster.llm.client import ModelClient
from cognitionos_dagster.llm.types import CallContext, ChatMessage, ChatRequest, Completion, ToolSpec
from cognitionos_dagster.memory.interface import MemoryHit, MemoryProvider
from cognitionos_dagster.quality.critique import CritiqueOutcome, Review, critique_loop
from cognitionos_dagster.quality.gate import GateResult, evaluate
from cognitionos_dagster.quality.policies import QualityPolicy, get_policy
from cognitionos_dagster.quality.scorers import quality_score
from cognitionos_dagster.quality.verification import JudgeInvalid, JudgeUnavailable, VerifierOutcome, verify
from cognitionos_dagster.tracing.spans import span

log = logging.getLogger(__name__)
audit_log = logging.getLogger("cognitionos.audit")
T = TypeVar("T")
Reviewer = Callable[[AgentRequest], AgentResult]
CRITIQUE_CRITERIA = ["correct", "complete", "answers the input", "no invented facts"]


@dataclass
class PipelineState:
    """The state one agent request carries through the pipeline's stages."""

    definition: AgentDefinition
    request: AgentRequest
    input: BaseModel
    models: list[str]
    started: float = field(default_factory=time.perf_counter)
    prompt_version: str = ""
    context: list[MemoryHit] = field(default_factory=list)
    messages: list[ChatMessage] = field(default_factory=list)
    completions: list[Completion] = field(default_factory=list)
    output: BaseModel | None = None
    gate: GateResult | None = None
    raise_if_blocked: bool = True  # False: return a failed blocking gate instead of raising (cognos gates)
    round: int = 0  # a self-critique revision in progress: its calls are recorded as `<step>.revise[N]`
    tools: ToolSession | None = None  # None: no tool is offered, the model answers at once

    def call_context(self) -> CallContext:
        r = self.request
        step_id = f"{r.step_id or self.definition.role}.revise[{self.round}]" if self.round else r.step_id
        return CallContext(run_id=r.run_id, step_id=step_id, prompt_version=self.prompt_version or None,
                           replay_run_id=r.replay_run_id)

    @property
    def confidence(self) -> float | None:
        value = getattr(self.output, "confidence", None)
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


class AgentExecutor:
    def __init__(self, *, client: ModelClient, prompts: PromptLibrary, policies: dict[str, QualityPolicy],
                 db: Database | None = None, memory: MemoryProvider | None = None,
                 reviewer: Reviewer | None = None, tool_loop: ToolLoop | None = None) -> None:
        """Without `tool_loop` no tool is offered: the model answers at once."""
        self.client = client
        self.tool_loop = tool_loop
        self.prompts = prompts
        self.policies = policies
        self.db = db
        self.memory = memory
        self.reviewer = reviewer

    def execute(self, definition: AgentDefinition, request: AgentRequest, agent_input: BaseModel,
                models: list[str]) -> AgentResult:
        """Run the stages in order, each in its own span; audit the outcome, success or not.

        Args:
            definition (AgentDefinition): The role: prompt, output model, policies, tools.
            request (AgentRequest): Run and step ids, gate and memory namespace overrides, replay source.
            agent_input (BaseModel): The input, already validated against the role's input model.
            models (list[str]): The model chain to try in order.

        Returns:
            AgentResult: The validated output and its accounting (tokens, cost, latency, scores).

        Raises:
            ModelError: Every model failed. AgentError: invalid output after re-asks, or
            `LowConfidence`. GateFailed: the quality gate rejected the output. ReplayError: a
            replay lacks a recording. Each is audited before it propagates.
        """
        call = PipelineState(definition=definition, request=request, input=agent_input, models=models)
        if self.tool_loop is not None:
            call.tools = self.tool_loop.session(definition, request, agent_input)
        with span("agent.run", role=definition.role, run_id=request.run_id, step_id=request.step_id,
                  replay=bool(request.replay_run_id)):
            try:
                call.context = self._stage("gather_context", call, self.gather_context)
                call.messages = self._stage("build_prompt", call, self.build_prompt)
                first = self._stage("call_model", call, self.converse)
                call.output = self._stage("validate_output", call, lambda c: self.validate_output(c, first))
                call.output = with_tools_used(call.output, call.tools.tools_used if call.tools else [])
                self._check_confidence(call)
                call.gate = self._stage("quality_gate", call, self.quality_gate)
                result = self._stage("record", call, self.record)
                self._stage("store_memory", call, lambda c: self.store_memory(c, result))
                self._stage("audit", call, lambda c: self.audit(c, result, "ok"))
            except BaseException as exc:
                self.audit(call, None, type(exc).__name__)
                raise
        return result

    def _stage(self, name: str, call: PipelineState, fn: Callable[[PipelineState], T]) -> T:
        started = time.perf_counter()
        with span(f"agent.{name}", role=call.definition.role, step_id=call.request.step_id):
            value = fn(call)
        log.debug("agent %s stage %s took %.2f ms", call.definition.role, name, (time.perf_counter() - started) * 1e3)
        return value

    # -- stages ------------------------------------------------------------------------------------
    def gather_context(self, call: PipelineState) -> list[MemoryHit]:
        """Memories of the request's namespace; in a replay, the ones recorded then (memory may have changed)."""
        request, k = call.request, call.definition.memory_k
        if self.memory is None or not request.memory_namespace or k == 0:
            return []
        user, query = request.user or "system", _query_text(call.input.model_dump(exclude_unset=True))
        payload = {"namespace": request.memory_namespace, "user": user, "query": query, "k": k}
        ctx = call.call_context()
        if request.replay_run_id:
            recorded = self.client.log.lookup("tool", payload, ctx, "memory retrieval")
            hits = [MemoryHit.model_validate(h) for h in recorded.get("hits", [])]
        else:
            hits = self.memory.retrieve(request.memory_namespace, user, query, k=k)
        self.client.log.write("tool", "memory.retrieve", payload,
                              {"hits": [h.model_dump(mode="json") for h in hits]}, ctx)
        return hits

    def build_prompt(self, call: PipelineState) -> list[ChatMessage]:
        d = call.definition
        variables: dict[str, Any] = {
            "role": d.role, "description": d.description, "input": call.input.model_dump(mode="json"),
            "context": [h.model_dump(mode="json") for h in call.context],
            "allowed_tools": list(call.tools.offered) if call.tools else d.allowed_tools,
            "output_schema": json.dumps(output_schema(d.output_model), indent=1),
        }
        version = call.request.prompt_version or d.prompt_version
        text, call.prompt_version = self.prompts.render(d.role, version, variables)
        user = "Input:\n" + json.dumps(call.input.model_dump(mode="json"), indent=1, ensure_ascii=False)
        return [ChatMessage(role="system", content=text), ChatMessage(role="user", content=user)]

    def converse(self, call: PipelineState) -> Completion:
        """The model's answer; with tools offered, after the tool rounds it asked for. The conversation
        (tool calls and results included) becomes `call.messages`, so a re-ask keeps what the tools said."""
        if self.tool_loop is None or call.tools is None or not call.tools.offered:
            return self.call_model(call, call.messages)
        completion, call.messages = self.tool_loop.converse(
            call.tools, call.messages, lambda messages, tools: self.call_model(call, messages, tools))
        return completion

    def call_model(self, call: PipelineState, messages: list[ChatMessage],
                   tools: tuple[ToolSpec, ...] = ()) -> Completion:
        d = call.definition
        request = ChatRequest(
            messages=tuple(messages), schema_name=d.output_model.__name__[:64],
            json_schema=output_schema(d.output_model), temperature=d.temperature, tools=tools,
            offline_hint=call.input.model_dump(mode="json"),
        )
        completion = self.client.complete_structured(request, models=call.models, call=call.call_context())
        call.completions.append(completion)
        return completion

    def validate_output(self, call: PipelineState, completion: Completion) -> BaseModel:
        """Parse and validate; on failure re-ask with the error, at most `max_reasks` times."""
        model = call.definition.output_model
        reasks = 0
        while True:
            try:
                return model.model_validate(parse_json_object(completion.text))
            except (ValueError, ValidationError) as exc:
                self.client.log.mark_invalid(completion, validation_feedback(exc))
                if reasks >= call.definition.max_reasks:
                    raise AgentError(
                        f"{call.definition.role} output did not match {model.__name__} after {reasks} re-ask(s): "
                        f"{validation_feedback(exc)}",
                        hint="try a stronger model (fallback_models), raise max_reasks, or clarify the prompt",
                    ) from exc
                reasks += 1
                retry = [*call.messages, ChatMessage(role="assistant", content=completion.text[:4000]),
                         ChatMessage(role="user", content=f"That answer is invalid: {validation_feedback(exc)}\n"
                                     "Answer again with one JSON object that matches the schema exactly.")]
                with span("agent.reask", role=call.definition.role, reask=reasks):
                    completion = self.call_model(call, retry)

    def _check_confidence(self, call: PipelineState) -> None:
        threshold = call.definition.confidence_threshold
        confidence = call.confidence
        if confidence is not None and confidence < threshold:
            result = self.record(call)
            raise LowConfidence(
                f"{call.definition.role} answered with confidence {confidence:.2f}, "
                f"below its threshold {threshold:.2f}",
                result=result, threshold=threshold,
                hint=f"lower confidence_threshold in {call.definition.source.name} or improve the prompt",
            )

    def quality_gate(self, call: PipelineState) -> GateResult | None:
        """The named policy, if any; a policy that critiques runs the self-critique loop first."""
        if not call.request.quality_gate:
            return None
        assert call.output is not None
        policy = get_policy(self.policies, call.request.quality_gate)
        r = call.request
        outcome = self.self_critique_loop(call, policy) if policy.critique_rounds else None
        if outcome is not None:
            call.output = outcome.best
        verified = self.cross_verify(call, policy) if policy.require_cross_verification else None
        return evaluate(
            policy, call.output, call.confidence, self_critique=outcome.best_score if outcome else None,
            cross_verification=verified.score if verified else None,
            verifier_spread=verified.spread if verified else None,
            verifier_samples=verified.samples if verified else None,
            verifier_problem=verified.problem if verified else None,
            verifier_reasons=verified.reasons if verified else None,
            db=self.db, run_id=r.run_id, step_id=r.step_id, agent_role=call.definition.role,
            context=[h.content for h in call.context], raise_if_blocked=call.raise_if_blocked,
            critique_rounds=outcome.reviews if outcome else None,
            score_trajectory=outcome.trajectory if outcome else None,
            details={"critique": {"best_round": outcome.best_round, "rounds": outcome.rounds}} if outcome else None,
        )

    def self_critique_loop(self, call: PipelineState, policy: QualityPolicy) -> CritiqueOutcome[BaseModel] | None:
        """Up to `policy.critique_rounds` revisions, each reviewed; the best-scoring answer is kept."""
        if self.reviewer is None:
            return None
        assert call.output is not None

        def review(answer: BaseModel, number: int) -> Review:
            with span("quality.critique_round", role=call.definition.role, round=number, kind="review"):
                return self._review(call, policy, answer, number)

        def revise(answer: BaseModel, critique: Review, number: int) -> BaseModel:
            with span("quality.critique_round", role=call.definition.role, round=number, kind="revise"):
                return self._revise(call, answer, critique, number)

        return critique_loop(call.output, review=review, revise=revise, max_rounds=policy.critique_rounds,
                             threshold=policy.min_quality_score)

    def cross_verify(self, call: PipelineState, policy: QualityPolicy) -> VerifierOutcome | None:
        """K independent judgements of the output against the step's input, `<step>.verify[k]` each."""
        spec = policy.verifier
        if self.reviewer is None or spec is None or call.output is None:
            return None
        r = call.request
        content = call.output.model_dump_json()

        def judge(k: int) -> tuple[float, list[str]]:
            request = AgentRequest(
                role=spec.role, model=spec.model, run_id=r.run_id, replay_run_id=r.replay_run_id,
                step_id=f"{r.step_id or call.definition.role}.verify[{k}]",
                input={"content": content, "criteria": CRITIQUE_CRITERIA,
                       "context": f"Independent check of the {call.definition.role} agent's answer to: "
                                  f"{call.input.model_dump_json()[:1500]}"},
            )
            with span("quality.verify", role=spec.role, sample=k):
                try:
                    output = self.reviewer(request).output  # type: ignore[misc]
                except LowConfidence as exc:
                    output = exc.result.output
                except ModelError as exc:
                    raise JudgeUnavailable(str(exc)) from exc
                except AgentError as exc:
                    raise JudgeInvalid(str(exc)) from exc
            value = output.get("overall_quality")
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise JudgeInvalid(f"{spec.role} gave no numeric overall_quality")
            return min(max(float(value), 0.0), 1.0), list(output.get("issues") or [])

        return verify(judge, spec.samples)

    def self_critique(self, call: PipelineState, policy: QualityPolicy | None = None) -> float | None:
        """One review of the current answer (round 0); None without a reviewer."""
        if self.reviewer is None or call.output is None:
            return None
        policy = policy or QualityPolicy(name="critique")
        return self._review(call, policy, call.output, 0).score

    def _review(self, call: PipelineState, policy: QualityPolicy, answer: BaseModel, number: int) -> Review:
        """The critic's call for round `number`, recorded as `<step>.critique` (round 0) or `.critique[N]`."""
        assert self.reviewer is not None
        r = call.request
        suffix = ".critique" if number == 0 else f".critique[{number}]"
        request = AgentRequest(
            role=policy.critic_role, model=policy.critic_model, run_id=r.run_id,
            step_id=f"{r.step_id or call.definition.role}{suffix}", replay_run_id=r.replay_run_id,
            input={"content": answer.model_dump_json(), "criteria": CRITIQUE_CRITERIA,
                   "context": f"Review of the {call.definition.role} agent's answer to: "
                              f"{call.input.model_dump_json()[:1500]}"},
        )
        try:
            output = self.reviewer(request).output
        except LowConfidence as exc:  # a hesitant critic still scored the answer
            output = exc.result.output
        value = output.get("overall_quality")
        score = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0
        return Review(score=min(max(score, 0.0), 1.0), issues=list(output.get("issues") or []),
                      suggestions=list(output.get("suggestions") or []))

    def _revise(self, call: PipelineState, answer: BaseModel, critique: Review, number: int) -> BaseModel:
        """The agent answers again with the critique; recorded as `<step>.revise[N]`."""
        issues = "\n".join(f"- {i}" for i in critique.issues) or "- (none listed)"
        suggestions = "\n".join(f"- {s}" for s in critique.suggestions) or "- (none listed)"
        messages = [*call.messages, ChatMessage(role="assistant", content=answer.model_dump_json()[:4000]),
                    ChatMessage(role="user", content=f"A reviewer scored this answer {critique.score:.2f}.\n"
                                f"Issues:\n{issues}\nSuggestions:\n{suggestions}\n"
                                "Revise the answer to fix them; answer with one JSON object matching the schema.")]
        call.round = number
        try:
            completion = self.call_model(call, messages)
            return self.validate_output(call, completion)
        finally:
            call.round = 0

    def record(self, call: PipelineState) -> AgentResult:
        assert call.output is not None
        last = call.completions[-1]
        result = AgentResult(
            role=call.definition.role, output=call.output.model_dump(mode="json"), model=last.model,
            prompt_version=call.prompt_version,
            input_tokens=sum(c.input_tokens for c in call.completions),
            output_tokens=sum(c.output_tokens for c in call.completions),
            cost_usd=round(sum(c.cost_usd for c in call.completions), 8),
            latency_ms=(time.perf_counter() - call.started) * 1000, confidence=call.confidence,
            quality_score=call.gate.quality_score if call.gate else quality_score(call.output),
            attempts=len(call.completions), offline=all(c.offline for c in call.completions),
            gate=_gate_line(call.gate) if call.gate else None,
            tools_used=call.tools.tools_used if call.tools else [],
            tool_calls=[t.as_json() for t in call.tools.traces] if call.tools else [],
        )
        return result

    def store_memory(self, call: PipelineState, result: AgentResult) -> None:
        """Remember the output in the request's namespace (not in a replay: it was stored the first time)."""
        r = call.request
        if self.memory is None or not r.memory_namespace or r.replay_run_id:
            return
        content = f"{call.definition.role}: {json.dumps(result.output, ensure_ascii=False)}"[:4000]
        self.memory.store(r.memory_namespace, r.user or "system", content,
                          importance=result.confidence if result.confidence is not None else 0.5,
                          metadata={"run_id": r.run_id, "step_id": r.step_id, "role": call.definition.role,
                                    "prompt_version": result.prompt_version, "offline": result.offline})

    def audit(self, call: PipelineState, result: AgentResult | None, outcome: str) -> None:
        """Who asked what of which model and what it cost; never the content (it may be sensitive)."""
        r = call.request
        audit_log.info(
            "agent=%s outcome=%s run=%s step=%s user=%s model=%s prompt=%s tokens=%s cost_usd=%s confidence=%s",
            call.definition.role, outcome, r.run_id, r.step_id, r.user,
            result.model if result else ",".join(call.models), call.prompt_version or "-",
            (result.input_tokens + result.output_tokens) if result else "-",
            f"{result.cost_usd:.6f}" if result else "-", result.confidence if result else "-",
        )


@lru_cache(maxsize=256)
def output_schema(model: type[BaseModel]) -> dict[str, Any]:
    """Computed once per model class: building a JSON schema costs more than the rest of a stage."""
    return model.model_json_schema()


def _gate_line(gate: GateResult) -> dict[str, Any]:
    """What the step record keeps of its gate: the verdicts and the loop's rounds, not the whole details."""
    return {"policy": gate.policy, "passed": gate.passed, "reason": gate.reason, "quality_score": gate.quality_score,
            "critique_rounds": gate.critique_rounds, "score_trajectory": gate.score_trajectory,
            "rounds": gate.details.get("critique", {}).get("rounds", []),
            "verifier_score": gate.verifier_score, "verifier_spread": gate.verifier_spread,
            "hallucinated": gate.hallucinated, "hallucination_score": gate.hallucination_score,
            "verdicts": [v.model_dump() for v in gate.verdicts], "warnings": gate.warnings}


def _query_text(data: dict[str, Any]) -> str:
    parts = [v for v in data.values() if isinstance(v, str) and v.strip()]
    return " ".join(parts)[:1000] or json.dumps(data, sort_keys=True)[:1000]
