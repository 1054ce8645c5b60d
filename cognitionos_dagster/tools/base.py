"""What every tool is: a name, typed input and output, the permissions it needs, and `run`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from cognitionos_dagster.tools.context import ToolContext


class ToolInput(BaseModel):
    """Base of tool inputs: unknown fields are an error, so a typo in a spec never passes silently."""

    model_config = ConfigDict(extra="forbid")


class ToolOutput(BaseModel):
    """Base of tool outputs; `success=False` fails the workflow step (then `on_failure` applies)."""

    success: bool
    result: Any = None
    error: str | None = None


class Tool(ABC):
    name: ClassVar[str]
    description: ClassVar[str]
    input_model: ClassVar[type[ToolInput]]
    output_model: ClassVar[type[ToolOutput]]
    permissions_required: ClassVar[list[str]] = []

    @abstractmethod
    def run(self, data: ToolInput, ctx: ToolContext) -> ToolOutput:
        """Do the work. Raising is allowed: the registry turns it into a failed, recorded output."""

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "permissions": list(self.permissions_required),
            "input_schema": self.input_model.model_json_schema(),
            "output_schema": self.output_model.model_json_schema(),
        }
