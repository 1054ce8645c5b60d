"""Everything a tool call may use besides its input: who calls, where, with which services."""

from __future__ import annotations

from dataclasses import dataclass, field

from cognitionos_dagster.db.repositories.calls import CallRecordRepository
from cognitionos_dagster.memory.interface import MemoryProvider
from cognitionos_dagster.settings import Settings


@dataclass
class ToolContext:
    settings: Settings
    run_id: str | None = None
    step_id: str | None = None
    caller_role: str | None = None
    allowed_tools: frozenset[str] | None = None  # None: a workflow tool step, any registered tool
    memory: MemoryProvider | None = None
    user: str | None = None
    recorder: CallRecordRepository | None = None
    replay_run_id: str | None = None
    timeout_seconds: float | None = None  # the step's timeout caps the tool's own wall clock
    # An agent's tool loop: a failed call was an answer the model saw, so replay serves it too.
    replay_any_outcome: bool = False
    # How many successful calls per (tool, request hash) this step has made: the replay index.
    call_counts: dict[tuple[str, str], int] = field(default_factory=dict, repr=False)

    def cap_timeout(self, requested: float) -> float:
        """The tool's wall clock: what the input asks for, never more than the step allows."""
        return requested if self.timeout_seconds is None else min(requested, self.timeout_seconds)
