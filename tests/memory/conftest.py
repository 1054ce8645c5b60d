"""Fixtures for memory tests: a store on the per-test database, namespaces, and time travel."""

from __future__ import annotations

import pytest
from support.memory_fixtures import namespaces, store  # noqa: F401 - fixtures
from support.model_fixtures import make_client, openai_server, sleeps  # noqa: F401 - fixtures

from cognitionos_dagster.db.connection import Database


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
