"""AgentExecutor: the one pipeline every role runs through, one overridable method per stage.

gather_context -> build_prompt -> call_model -> validate_output -> quality_gate -> record
-> store_memory -> audit. Each stage is a span named `agent.<stage>` and a debug log line,
so a slow or failing stage is visible in traces and logs by name.
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
from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.errors import AgentError
from cognitionos_dagster.llm.client import ModelClient
from cognitionos_dagster.llm.types import CallContext, ChatMessage, ChatRequest, Completion
from cognitionos_dagster.memory.interface import MemoryHit, MemoryProvider
from cognitionos_dagster.quality.gate import GateResult, evaluate
from cognitionos_dagster.quality.policies import QualityPolicy, get_policy
from cognitionos_dagster.quality.scorers import quality_score
from cognitionos_dagster.tracing.spans import span

log = logging.getLogger(__name__)
audit_log = logging.getLogger("cognitionos.audit")
T = TypeVar("T")
Reviewer = Callable[[AgentRequest], AgentResult]
CRITIQUE_CRITERIA = ["correct", "complete", "answers the input", "no invented facts"]


@dataclass
class AgentCall:
    """The state one request carries through the stages."""

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

    def call_context(self) -> CallContext:
        r = self.request
        return CallContext(run_id=r.run_id, step_id=r.step_id, prompt_version=self.prompt_version or None,
                           replay_run_id=r.replay_run_id)

    @property
    def confidence(self) -> float | None:
        value = getattr(self.output, "confidence", None)
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


class AgentExecutor:
    def __init__(self, *, client: ModelClient, prompts: PromptLibrary, policies: dict[str, QualityPolicy],
                 db: Database | None = None, memory: MemoryProvider | None = None,
                 reviewer: Reviewer | None = None) -> None:
        self.client = client
        self.prompts = prompts
        self.policies = policies
        self.db = db
        self.memory = memory
        self.reviewer = reviewer

    def execute(self, definition: AgentDefinition, request: AgentRequest, agent_input: BaseModel,
                models: list[str]) -> AgentResult:
        call = AgentCall(definition=definition, request=request, input=agent_input, models=models)
        with span("agent.run", role=definition.role, run_id=request.run_id, step_id=request.step_id,
                  replay=bool(request.replay_run_id)):
            try:
                call.context = self._stage("gather_context", call, self.gather_context)
                call.messages = self._stage("build_prompt", call, self.build_prompt)
                first = self._stage("call_model", call, lambda c: self.call_model(c, c.messages))
                call.output = self._stage("validate_output", call, lambda c: self.validate_output(c, first))
                self._check_confidence(call)
                call.gate = self._stage("quality_gate", call, self.quality_gate)
                result = self._stage("record", call, self.record)
                self._stage("store_memory", call, lambda c: self.store_memory(c, result))
                self._stage("audit", call, lambda c: self.audit(c, result, "ok"))
            except BaseException as exc:
                self.audit(call, None, type(exc).__name__)
                raise
        return result

    def _stage(self, name: str, call: AgentCall, fn: Callable[[AgentCall], T]) -> T:
        started = time.perf_counter()
        with span(f"agent.{name}", role=call.definition.role, step_id=call.request.step_id):
            value = fn(call)
        log.debug("agent %s stage %s took %.2f ms", call.definition.role, name, (time.perf_counter() - started) * 1e3)
        return value

    # -- stages ------------------------------------------------------------------------------------
    def gather_context(self, call: AgentCall) -> list[MemoryHit]:
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

    def build_prompt(self, call: AgentCall) -> list[ChatMessage]:
        d = call.definition
        variables: dict[str, Any] = {
            "role": d.role, "description": d.description, "input": call.input.model_dump(mode="json"),
            "context": [h.model_dump(mode="json") for h in call.context], "allowed_tools": d.allowed_tools,
            "output_schema": json.dumps(output_schema(d.output_model), indent=1),
        }
        text, call.prompt_version = self.prompts.render(d.role, d.prompt_version, variables)
        user = "Input:\n" + json.dumps(call.input.model_dump(mode="json"), indent=1, ensure_ascii=False)
        return [ChatMessage(role="system", content=text), ChatMessage(role="user", content=user)]

    def call_model(self, call: AgentCall, messages: list[ChatMessage]) -> Completion:
        d = call.definition
        request = ChatRequest(
            messages=tuple(messages), schema_name=d.output_model.__name__[:64],
            json_schema=output_schema(d.output_model), temperature=d.temperature,
            offline_hint=call.input.model_dump(mode="json"),
        )
        completion = self.client.complete_structured(request, models=call.models, call=call.call_context())
        call.completions.append(completion)
        return completion

    def validate_output(self, call: AgentCall, completion: Completion) -> BaseModel:
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

    def _check_confidence(self, call: AgentCall) -> None:
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

    def quality_gate(self, call: AgentCall) -> GateResult | None:
        """The named policy, if any; a policy requiring self-critique has the critic role review first."""
        if not call.request.quality_gate:
            return None
        assert call.output is not None
        policy = get_policy(self.policies, call.request.quality_gate)
        critique = self.self_critique(call) if policy.require_self_critique else None
        r = call.request
        return evaluate(policy, call.output, call.confidence, self_critique=critique, db=self.db, run_id=r.run_id,
                        step_id=r.step_id, agent_role=call.definition.role)

    def self_critique(self, call: AgentCall) -> float | None:
        if self.reviewer is None:
            return None
        assert call.output is not None
        r = call.request
        review = self.reviewer(AgentRequest(
            role="critic", run_id=r.run_id, step_id=f"{r.step_id or call.definition.role}.critique",
            replay_run_id=r.replay_run_id,
            input={"content": call.output.model_dump_json(), "criteria": CRITIQUE_CRITERIA,
                   "context": f"Review of the {call.definition.role} agent's answer to: "
                              f"{call.input.model_dump_json()[:1500]}"},
        ))
        value = review.output.get("overall_quality")
        return float(value) if isinstance(value, int | float) else None

    def record(self, call: AgentCall) -> AgentResult:
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
        )
        return result

    def store_memory(self, call: AgentCall, result: AgentResult) -> None:
        """Remember the output in the request's namespace (not in a replay: it was stored the first time)."""
        r = call.request
        if self.memory is None or not r.memory_namespace or r.replay_run_id:
            return
        content = f"{call.definition.role}: {json.dumps(result.output, ensure_ascii=False)}"[:4000]
        self.memory.store(r.memory_namespace, r.user or "system", content,
                          importance=result.confidence if result.confidence is not None else 0.5,
                          metadata={"run_id": r.run_id, "step_id": r.step_id, "role": call.definition.role,
                                    "prompt_version": result.prompt_version, "offline": result.offline})

    def audit(self, call: AgentCall, result: AgentResult | None, outcome: str) -> None:
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


def _query_text(data: dict[str, Any]) -> str:
    parts = [v for v in data.values() if isinstance(v, str) and v.strip()]
    return " ".join(parts)[:1000] or json.dumps(data, sort_keys=True)[:1000]
