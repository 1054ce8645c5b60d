"""The typed shapes memory hands out and takes in (JSON-able: the CLI prints them as they are)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

_FILTER_KEYS = ("metadata", "created_after", "created_before")


class MemoryItem(BaseModel):
    """One memory to store: what `add_many` and the JSONL bulk file take."""

    model_config = ConfigDict(extra="forbid")

    content: str = Field(min_length=1)
    importance: float = Field(default=0.5, ge=0.0, le=1.0)
    metadata: dict[str, Any] = Field(default_factory=dict)
    expires_at: datetime | None = None


class RerankWeights(BaseModel):
    """How the final score mixes similarity, recency (half-life decay of age) and importance."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    similarity: float = Field(default=1.0, ge=0.0)
    recency: float = Field(default=0.0, ge=0.0)
    importance: float = Field(default=0.0, ge=0.0)
    half_life_days: float = Field(default=30.0, gt=0.0)

    @property
    def is_plain_similarity(self) -> bool:
        return self.recency == 0.0 and self.importance == 0.0


class SearchFilters(BaseModel):
    """Restrictions on a search: metadata containment (`@>`) and a creation-time range."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metadata: dict[str, Any] = Field(default_factory=dict)
    created_after: datetime | None = None
    created_before: datetime | None = None

    @classmethod
    def from_mapping(cls, filters: dict[str, Any] | None) -> SearchFilters:
        """Accept the protocol's loose dict: known keys as such, every other key as a metadata match."""
        if not filters:
            return cls()
        known = {k: v for k, v in filters.items() if k in _FILTER_KEYS}
        extra = {k: v for k, v in filters.items() if k not in _FILTER_KEYS}
        merged = {**dict(known.get("metadata") or {}), **extra}
        return cls(**{**known, "metadata": merged})


class AddResult(BaseModel):
    inserted: int = 0
    duplicates: int = 0

    @property
    def total(self) -> int:
        return self.inserted + self.duplicates


class MemoryRecord(BaseModel):
    """Everything known about one memory (`cognos memory inspect`)."""

    id: str
    namespace: str
    content: str
    summary: str | None = None
    importance: float
    access_count: int
    last_accessed_at: datetime | None
    created_at: datetime
    expires_at: datetime | None
    compressed: bool
    archived: bool
    content_bytes: int
    stored_bytes: int
    embedding_dim: int | None
    metadata: dict[str, Any] = Field(default_factory=dict)


class GrantInfo(BaseModel):
    user: str
    can_read: bool
    can_write: bool


class NamespaceInfo(BaseModel):
    name: str
    owner: str | None
    policy: str | None = None
    quota_bytes: int | None = None
    description: str | None = None
    created_at: datetime
    grants: list[GrantInfo] = Field(default_factory=list)

    @field_validator("grants", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return value or []


class NamespaceStats(BaseModel):
    """Counts by state and sizes of one namespace (the asset's metadata and `cognos memory stats`)."""

    namespace: str
    policy: str | None
    quota_bytes: int | None
    total: int
    active: int
    compressed: int
    archived: int
    expired: int
    content_bytes: int  # the original texts' size
    stored_bytes: int  # what the text columns hold now (plain + compressed)
    compressed_original_bytes: int
    compressed_stored_bytes: int
    oldest: datetime | None
    newest: datetime | None

    @property
    def compression_ratio(self) -> float | None:
        """Original / stored size of the compressed memories (2.0 = half the space)."""
        if not self.compressed_stored_bytes:
            return None
        return round(self.compressed_original_bytes / self.compressed_stored_bytes, 3)

    @property
    def over_quota(self) -> bool:
        return self.quota_bytes is not None and self.stored_bytes > self.quota_bytes
