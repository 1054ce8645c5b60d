"""What a compiled step needs from the domain, as protocols: the compiler depends on these shapes,
the resource in `integrations/steps.py` supplies the real agent runtime, tool registry and stores."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from cognitionos_dagster.compiler.step_records import BufferedExecutions
from cognitionos_dagster.db.repositories.escalations import EscalationRepository
from cognitionos_dagster.db.repositories.executions import ExecutionRepository


class AgentRunner(Protocol):
    def run(self, request: Any) -> Any: ...


class ToolRunner(Protocol):
    def run(self, name: str, raw_input: dict[str, Any], ctx: Any) -> Any: ...


@dataclass
class StepServices:
    """Everything a step op calls. `executions`/`escalations` are None when no database is configured
    (pure in-process tests); then nothing is recorded and escalations only fail the step."""

    settings: Any
    agents: AgentRunner
    tools: ToolRunner
    memory: Any | None = None
    executions: ExecutionRepository | BufferedExecutions | None = None
    escalations: EscalationRepository | None = None
    recorder: Any | None = None
