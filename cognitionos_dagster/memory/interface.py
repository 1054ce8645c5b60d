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
