"""What a step hands downstream, and how a step fails.

Between ops a step's result is a plain dict `{"status", "output", "attempts"}`: JSON-able,
pickled by the IO manager, and exactly what expressions see as `steps.<id>`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from cognitionos_dagster.errors import CognitionOSError

StepStatus = Literal["succeeded", "skipped", "failed", "escalated"]


@dataclass(frozen=True)
class StepOutcome:
    status: StepStatus
    output: Any
    attempts: int = 1

    def as_result(self) -> dict[str, Any]:
        return {"status": self.status, "output": self.output, "attempts": self.attempts}


class StepFailed(CognitionOSError):
    """A step failed for good (`retryable=False`) or wants Dagster to run it again."""

    def __init__(self, step_id: str, message: str, *, status: StepStatus = "failed", retryable: bool = False) -> None:
        self.step_id = step_id
        self.status = status
        self.retryable = retryable
        super().__init__(f"step {step_id!r} {status}: {message}")


class StepTimeout(CognitionOSError):
    """A step ran past its `timeout_seconds`."""


class ToolStepFailed(CognitionOSError):
    """A tool answered `success: false` (non-zero exit, HTTP 4xx/5xx, ...)."""


def skipped(attempts: int = 1) -> StepOutcome:
    return StepOutcome("skipped", None, attempts)
