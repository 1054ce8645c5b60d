"""`retrieve_memory` and `store_memory`: the agent's memory through the configured MemoryProvider."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from cognitionos_dagster.errors import ToolError
from cognitionos_dagster.memory.interface import MemoryHit, MemoryProvider
from cognitionos_dagster.tools.base import Tool, ToolInput, ToolOutput
from cognitionos_dagster.tools.context import ToolContext

SYSTEM_USER = "system"


def _provider(ctx: ToolContext, tool: str) -> MemoryProvider:
    if ctx.memory is None:
        raise ToolError(f"{tool} needs a memory provider, and none is configured for this run",
                        hint="run through the Dagster job (which configures the memory store) or pass one in "
                        "ToolContext(memory=...)")
    return ctx.memory


class RetrieveMemoryInput(ToolInput):
    namespace: str = Field(min_length=1)
    query: str = Field(min_length=1)
    k: int = Field(default=5, ge=1, le=100)
    filters: dict[str, Any] | None = None


class RetrieveMemoryOutput(ToolOutput):
    hits: list[MemoryHit] = Field(default_factory=list)


class RetrieveMemoryTool(Tool):
    name = "retrieve_memory"
    description = "Find the k memories of a namespace closest to a query (as the calling user); result is the hits."
    input_model = RetrieveMemoryInput
    output_model = RetrieveMemoryOutput
    permissions_required = ["memory:read"]

    def run(self, data: ToolInput, ctx: ToolContext) -> RetrieveMemoryOutput:
        assert isinstance(data, RetrieveMemoryInput)
        hits = _provider(ctx, self.name).retrieve(data.namespace, ctx.user or SYSTEM_USER, data.query, k=data.k,
                                                  filters=data.filters)
        return RetrieveMemoryOutput(success=True, hits=hits, result=[h.model_dump(mode="json") for h in hits])


class StoreMemoryInput(ToolInput):
    namespace: str = Field(min_length=1)
    content: str = Field(min_length=1)
    importance: float = Field(default=0.5, ge=0.0, le=1.0)
    metadata: dict[str, Any] | None = None


class StoreMemoryOutput(ToolOutput):
    memory_id: str | None = None


class StoreMemoryTool(Tool):
    name = "store_memory"
    description = "Store a memory in a namespace (as the calling user; duplicates are merged); result is its id."
    input_model = StoreMemoryInput
    output_model = StoreMemoryOutput
    permissions_required = ["memory:write"]

    def run(self, data: ToolInput, ctx: ToolContext) -> StoreMemoryOutput:
        assert isinstance(data, StoreMemoryInput)
        memory_id = _provider(ctx, self.name).store(data.namespace, ctx.user or SYSTEM_USER, data.content,
                                                    importance=data.importance, metadata=data.metadata)
        return StoreMemoryOutput(success=True, memory_id=memory_id, result=memory_id)
