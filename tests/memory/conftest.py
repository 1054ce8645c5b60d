"""Fixtures for memory tests: a store on the per-test database, namespaces, and time travel."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.model_fixtures import make_client, openai_server, sleeps  # noqa: F401 - fixtures

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


@pytest.fixture
def backdate(db: Database):
    return lambda ids, days, accessed_days=None: _backdate(db, ids, days, accessed_days=accessed_days)


def _backdate(db: Database, ids: list[str], days: float, *, accessed_days: float | None = None) -> None:
    """Make memories look `days` old (created) and last read `accessed_days` ago (or never)."""
    db.execute(
        """
        UPDATE memories SET created_at = now() - make_interval(secs => %s * 86400),
            last_accessed_at = CASE WHEN %s::float8 IS NULL THEN NULL
                                    ELSE now() - make_interval(secs => %s * 86400) END
        WHERE id = ANY(%s::uuid[])
        """,
        (days, accessed_days, accessed_days, ids),
    )
