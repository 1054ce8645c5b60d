"""The two kinds of work a step does — call an agent, call a tool — behind one small interface."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from cognitionos_dagster.agents.runtime import AgentRequest, AgentResult
from cognitionos_dagster.compiler.outcomes import ToolStepFailed
from cognitionos_dagster.compiler.services import StepServices
from cognitionos_dagster.db.repositories.executions import StepRecord
from cognitionos_dagster.dsl.models import ReassignSpec
from cognitionos_dagster.errors import CognitionOSError
from cognitionos_dagster.tools.context import ToolContext


class StepCall(Protocol):
    def run(self, services: StepServices, *, run_id: str, step_id: str, replay_run_id: str | None,
            timeout: float | None) -> tuple[Any, StepRecord]: ...

    def record(self, run_id: str, step_id: str, status: str, started: datetime, error: str | None,
               attempts: int) -> StepRecord: ...

    def reassigned(self, target: ReassignSpec | None) -> StepCall: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class AgentCall:
    role: str
    input: Any
    quality_gate: str | None = None
    memory_namespace: str | None = None
    model: str | None = None
    tools: tuple[str, ...] | None = None  # the step's `tools:`

    def run(self, services: StepServices, *, run_id: str, step_id: str, replay_run_id: str | None,
            timeout: float | None) -> tuple[Any, StepRecord]:
        if not isinstance(self.input, dict):
            raise CognitionOSError(f"agent step input must be a mapping, got {type(self.input).__name__}")
        result: AgentResult = services.agents.run(
            AgentRequest(role=self.role, input=self.input, run_id=run_id, step_id=step_id, model=self.model,
                         quality_gate=self.quality_gate, memory_namespace=self.memory_namespace,
                         replay_run_id=replay_run_id, tools=self.tools, timeout_seconds=timeout)
        )
        rec = self.record(run_id, step_id, "succeeded", datetime.now(), None, 1)
        rec.output = result.output
        rec.model, rec.prompt_version = result.model, result.prompt_version
        rec.input_tokens, rec.output_tokens = result.input_tokens, result.output_tokens
        rec.cost_usd, rec.latency_ms = result.cost_usd, result.latency_ms
        rec.confidence, rec.quality_score = result.confidence, result.quality_score
        if result.gate is not None:
            rec.extra["quality"] = result.gate
        rec.tool_calls = result.tool_calls or None
        return result.output, rec

    def record(self, run_id: str, step_id: str, status: str, started: datetime, error: str | None,
               attempts: int) -> StepRecord:
        return StepRecord(run_id, step_id, "agent", status, started, datetime.now(), input=self.input,
                          error=error, attempts=attempts, agent_role=self.role, model=self.model)

    def reassigned(self, target: ReassignSpec | None) -> AgentCall:
        if target is None:
            return self
        return replace(self, role=target.agent or self.role, model=target.model or self.model)

    def describe(self) -> str:
        return f"agent {self.role}" + (f" (model {self.model})" if self.model else "")


@dataclass(frozen=True)
class ToolCall:
    tool: str
    input: Any

    def run(self, services: StepServices, *, run_id: str, step_id: str, replay_run_id: str | None,
            timeout: float | None) -> tuple[Any, StepRecord]:
        if not isinstance(self.input, dict):
            raise CognitionOSError(f"tool step input must be a mapping, got {type(self.input).__name__}")
        ctx = ToolContext(settings=services.settings, run_id=run_id, step_id=step_id, memory=services.memory,
                          recorder=services.recorder, replay_run_id=replay_run_id, timeout_seconds=timeout)
        result = services.tools.run(self.tool, self.input, ctx)
        output = result.model_dump(mode="json")
        if not result.success:
            raise ToolStepFailed(f"tool {self.tool} failed: {_tool_error(output)}")
        rec = self.record(run_id, step_id, "succeeded", datetime.now(), None, 1)
        rec.output = output
        return output, rec

    def record(self, run_id: str, step_id: str, status: str, started: datetime, error: str | None,
               attempts: int) -> StepRecord:
        return StepRecord(run_id, step_id, "tool", status, started, datetime.now(), input=self.input,
                          error=error, attempts=attempts)

    def reassigned(self, target: ReassignSpec | None) -> ToolCall:
        return self  # a tool step is reassigned by running it again

    def describe(self) -> str:
        return f"tool {self.tool}"


def _tool_error(output: dict[str, Any]) -> str:
    parts = [str(output.get("error") or "")]
    if output.get("exit_code") not in (None, 0):
        parts.append(f"exit code {output['exit_code']}")
    if output.get("status_code"):
        parts.append(f"HTTP {output['status_code']}")
    stderr = str(output.get("stderr") or "").strip()
    if stderr:
        parts.append(stderr.splitlines()[-1][:300])
    return "; ".join(p for p in parts if p) or "success: false"
