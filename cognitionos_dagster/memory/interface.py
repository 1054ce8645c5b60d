"""What agents and tools need from memory; the store implements it.

Agents and tools depend on this protocol only, so they run (and are tested) with any
implementation, and memory never imports agents.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, Field


class MemoryHit(BaseModel):
    id: str
    namespace: str
    content: str
    score: float
    importance: float = 0.5
    created_at: datetime | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    similarity: float | None = None  # cosine similarity before any re-ranking
    archived: bool = False


@runtime_checkable
class MemoryProvider(Protocol):
    def retrieve(
        self, namespace: str, user: str, query: str, *, k: int = 5, filters: dict[str, Any] | None = None
    ) -> list[MemoryHit]:
        """Top-k memories of `namespace` that `user` may read; PermissionDenied otherwise."""
        ...

    def store(
        self,
        namespace: str,
        user: str,
        content: str,
        *,
        importance: float = 0.5,
        metadata: dict[str, Any] | None = None,
    ) -> str:
        """Store (or dedupe) a memory; returns its id. PermissionDenied without a write grant."""
        ...


class MemoryEntry(BaseModel):
    """One memory as a reader sees it (the text decompressed)."""

    id: str
    namespace: str
    content: str
    importance: float
    created_at: datetime
    archived: bool = False
    metadata: dict[str, Any] = Field(default_factory=dict)


class SearchHit(MemoryEntry):
    """A hybrid search result: its fused score and where each ranking placed it (1 = first)."""

    score: float
    similarity: float | None = None  # cosine similarity, when the vector ranking found it
    vector_rank: int | None = None
    text_rank: int | None = None


@runtime_checkable
class MemoryReader(Protocol):
    """Reads across namespaces for the `search` and `retrieve_memory` tools; every read is the user's."""

    def search_memories(
        self, user: str, query: str, *, namespaces: list[str] | None = None, k: int = 5,
        include_archived: bool = False,
    ) -> list[SearchHit]:
        """Vector and full-text rankings fused; every namespace the user may read when none are named."""
        ...

    def read_memories(self, ids: list[str], user: str) -> list[MemoryEntry]:
        """The memories with these ids that the user may read, in the order asked; others are left out."""
        ...

    def recent_memories(
        self, namespace: str, user: str, *, limit: int = 10, include_archived: bool = False,
    ) -> list[MemoryEntry]:
        """The newest memories of a namespace first; PermissionDenied without a read grant."""
        ...
