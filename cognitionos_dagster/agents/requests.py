"""What the compiler hands an agent and what it gets back (re-exported by agents.runtime)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from cognitionos_dagster.errors import AgentError


class AgentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    role: str
    input: dict[str, Any]
    run_id: str | None = None
    step_id: str | None = None
    model: str | None = None  # override (reassign_to.model); "fallback" = the role's first fallback model
    quality_gate: str | None = None  # policy name
    memory_namespace: str | None = None
    user: str | None = None
    replay_run_id: str | None = None  # deterministic replay source run
    prompt_version: str | None = None  # instead of the role's own (prompt A/B tests)
    tools: tuple[str, ...] | None = None  # the step's `tools:`: narrows the role's allowed_tools
    timeout_seconds: float | None = None  # the step's timeout: caps each tool call's wall clock


class AgentResult(BaseModel):
    """`attempts` counts model answers asked for (1 + tool rounds + validation re-asks); HTTP retries
    are in call_records."""

    role: str
    output: dict[str, Any]
    model: str
    prompt_version: str
    input_tokens: int
    output_tokens: int
    cost_usd: float
    latency_ms: float
    confidence: float | None
    quality_score: float | None
    attempts: int
    offline: bool
    gate: dict[str, Any] | None = None  # the gate's result: verdicts, critique rounds, trajectory, verifier
    tools_used: list[str] = []  # tools that ran in the step's tool loop, in first-use order
    tool_calls: list[dict[str, Any]] = []  # every call the model asked for: round, tool, status, error


class AgentInputError(AgentError):
    """The step's input does not fit the role's input schema: the spec must change, retrying cannot help."""


class LowConfidence(AgentError):
    """The output was valid but less confident than the role's threshold: counts as a failure.

    `result` is the rejected call's accounting, so the caller can still book its tokens and cost.
    """

    def __init__(self, message: str, *, result: AgentResult, threshold: float, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.result = result
        self.threshold = threshold
