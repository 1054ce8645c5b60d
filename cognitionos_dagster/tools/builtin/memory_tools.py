"""`search`, `retrieve_memory` and `store_memory`: the agent's memory through the configured provider.

Every call reads or writes as the calling user (`ToolContext.user`; a workflow tool step
acts as `system`), and the store runs it under that user's row-level security.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from cognitionos_dagster.errors import ToolError
from cognitionos_dagster.memory.interface import MemoryEntry, MemoryProvider, MemoryReader, SearchHit
from cognitionos_dagster.tools.base import Tool, ToolInput, ToolOutput
from cognitionos_dagster.tools.context import ToolContext

SYSTEM_USER = "system"


def _provider(ctx: ToolContext, tool: str) -> MemoryProvider:
    if ctx.memory is None:
        raise ToolError(f"{tool} needs a memory provider, and none is configured for this run",
                        hint="run through the Dagster job (which configures the memory store) or pass one in "
                        "ToolContext(memory=...)")
    return ctx.memory


def _reader(ctx: ToolContext, tool: str) -> MemoryReader:
    provider = _provider(ctx, tool)
    if not isinstance(provider, MemoryReader):
        raise ToolError(f"{tool} needs a memory provider that reads across namespaces, and "
                        f"{type(provider).__name__} does not",
                        hint="configure the memory store (MemoryStore) for the run")
    return provider


class SearchInput(ToolInput):
    query: str = Field(min_length=1, description="What to look for: words, phrases in quotes, -excluded words.")
    namespaces: list[str] | None = Field(
        default=None, min_length=1, description="Search only these namespaces; all the user may read when left out.")
    k: int = Field(default=5, ge=1, le=50, description="How many memories to return.")
    include_archived: bool = False


class SearchOutput(ToolOutput):
    hits: list[SearchHit] = Field(default_factory=list)


class SearchTool(Tool):
    name = "search"
    description = ("Hybrid search (meaning and exact words) over the memories the calling user may read; "
                   "result is the best k, each with its id, namespace, content and score.")
    input_model = SearchInput
    output_model = SearchOutput
    permissions_required = ["memory:read"]

    def run(self, data: ToolInput, ctx: ToolContext) -> SearchOutput:
        assert isinstance(data, SearchInput)
        hits = _reader(ctx, self.name).search_memories(
            ctx.user or SYSTEM_USER, data.query, namespaces=data.namespaces, k=data.k,
            include_archived=data.include_archived)
        return SearchOutput(success=True, hits=hits, result=[h.model_dump(mode="json") for h in hits])


class RetrieveMemoryInput(ToolInput):
    """Either `ids`, or a `namespace` whose newest memories come back first."""

    ids: list[str] | None = Field(default=None, min_length=1, max_length=100,
                                  description="Memory ids (as search returns them).")
    namespace: str | None = Field(default=None, min_length=1,
                                  description="Read this namespace's newest memories instead.")
    limit: int = Field(default=10, ge=1, le=100, description="How many of the newest memories (with namespace).")
    include_archived: bool = False

    @model_validator(mode="after")
    def _one_way(self) -> RetrieveMemoryInput:
        if (self.ids is None) == (self.namespace is None):
            raise ValueError("give either ids or namespace, not both and not neither")
        return self


class RetrieveMemoryOutput(ToolOutput):
    memories: list[MemoryEntry] = Field(default_factory=list)


class RetrieveMemoryTool(Tool):
    name = "retrieve_memory"
    description = ("Read memories the calling user may read: by id, or a namespace's newest first; "
                   "result is the memories.")
    input_model = RetrieveMemoryInput
    output_model = RetrieveMemoryOutput
    permissions_required = ["memory:read"]

    def run(self, data: ToolInput, ctx: ToolContext) -> RetrieveMemoryOutput:
        assert isinstance(data, RetrieveMemoryInput)
        reader, user = _reader(ctx, self.name), ctx.user or SYSTEM_USER
        if data.namespace is not None:
            memories = reader.recent_memories(data.namespace, user, limit=data.limit,
                                              include_archived=data.include_archived)
            return RetrieveMemoryOutput(success=True, memories=memories,
                                        result=[m.model_dump(mode="json") for m in memories])
        assert data.ids is not None
        memories = [m for m in reader.read_memories(data.ids, user) if data.include_archived or not m.archived]
        result = [m.model_dump(mode="json") for m in memories]
        missing = [i for i in dict.fromkeys(data.ids) if i not in {m.id for m in memories}]
        if missing:  # one answer for "does not exist" and "not yours": nothing leaks about other users
            return RetrieveMemoryOutput(
                success=False, memories=memories, result=result,
                error=f"no memory that user {user!r} may read has id {', '.join(missing)}: it does not exist, "
                "was garbage-collected" + ("" if data.include_archived else " or archived") +
                ", or is in a namespace the user may not read")
        return RetrieveMemoryOutput(success=True, memories=memories, result=result)


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
