"""A memory store and its namespaces on the per-test database, for every suite that stores memories."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.llm.local_embedding import LocalEmbedder
from cognitionos_dagster.memory.namespaces import NamespaceManager
from cognitionos_dagster.memory.store import MemoryStore


@pytest.fixture
def store(db: Database) -> Iterator[MemoryStore]:
    s = MemoryStore(db, LocalEmbedder(384))
    yield s
    s.close()


@pytest.fixture
def namespaces(db: Database) -> NamespaceManager:
    return NamespaceManager(db)
