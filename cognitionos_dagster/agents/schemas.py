"""The four built-in roles' input and output schemas, exactly as the V2 plan defines them.

Inputs forbid unknown fields so a typo in a workflow step fails at load time instead of
being silently dropped; outputs ignore extra fields a model adds.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class AgentRole(StrEnum):
    PLANNER = "planner"
    EXECUTOR = "executor"
    CRITIC = "critic"
    SUMMARIZER = "summarizer"


class AgentInput(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AgentOutput(BaseModel):
    model_config = ConfigDict(extra="ignore")


class PlannerAgentInput(AgentInput):
    goal: str
    context: str | None = None
    constraints: list[str] = []


class PlannerAgentOutput(AgentOutput):
    plan: list[str]
    reasoning: str
    confidence: float
    estimated_duration: str


class ExecutorAgentInput(AgentInput):
    task_description: str
    context: str | None = None
    tools_allowed: list[str] = []


class ExecutorAgentOutput(AgentOutput):
    result: str
    tools_used: list[str]
    confidence: float
    errors: list[str] = []


class CriticAgentInput(AgentInput):
    content: str
    criteria: list[str]
    context: str | None = None


class CriticAgentOutput(AgentOutput):
    issues: list[str]
    suggestions: list[str]
    confidence: float
    overall_quality: float


class SummarizerAgentInput(AgentInput):
    content: str
    max_length: int | None = None
    style: str = "concise"


class SummarizerAgentOutput(AgentOutput):
    summary: str
    key_points: list[str]
    confidence: float


BUILTIN_SCHEMAS: dict[str, tuple[type[BaseModel], type[BaseModel]]] = {
    AgentRole.PLANNER: (PlannerAgentInput, PlannerAgentOutput),
    AgentRole.EXECUTOR: (ExecutorAgentInput, ExecutorAgentOutput),
    AgentRole.CRITIC: (CriticAgentInput, CriticAgentOutput),
    AgentRole.SUMMARIZER: (SummarizerAgentInput, SummarizerAgentOutput),
}
