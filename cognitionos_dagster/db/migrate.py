"""Apply, inspect and roll back the schema (Alembic, under an advisory lock; see env.py)."""

from __future__ import annotations

import io
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, exc, pool

from cognitionos_dagster.db import server
from cognitionos_dagster.db.connection import unreachable
from cognitionos_dagster.db.server import DatabaseTarget
from cognitionos_dagster.db.urls import redact, sqlalchemy_url
from cognitionos_dagster.errors import MigrationError
from cognitionos_dagster.settings import Settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str, *, embedding_dim: int = 384) -> Config:
    cfg = Config(stdout=io.StringIO())
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    cfg.attributes["embedding_dim"] = embedding_dim
    return cfg


def head_revision() -> str:
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    head = script.get_current_head()
    assert head is not None
    return head


def current_revision(url: str) -> str | None:
    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except exc.OperationalError as error:  # unreachable server, missing database, bad password
        raise unreachable(url, error.orig or error) from error
    finally:
        engine.dispose()


def upgrade(url: str, revision: str = "head", *, embedding_dim: int = 384) -> str | None:
    """Bring the schema to `revision`; a no-op when it is already there.

    Each revision runs in its own transaction (PostgreSQL DDL is transactional), so a
    failing revision leaves the schema at the previous one, never half-applied.
    """
    before = current_revision(url)
    try:
        command.upgrade(alembic_config(url, embedding_dim=embedding_dim), revision)
    except Exception as exc:
        after = current_revision(url)
        raise MigrationError(
            f"migration to {revision} failed at {redact(url)} (schema left at revision {after or 'none'}, "
            f"was {before or 'none'}): {exc}",
            hint="the failed revision was rolled back; fix the cause and rerun `cognos db upgrade`",
        ) from exc
    return current_revision(url)


def downgrade(url: str, revision: str) -> str | None:
    try:
        command.downgrade(alembic_config(url), revision)
    except Exception as exc:
        raise MigrationError(f"downgrade to {revision} failed: {exc}") from exc
    return current_revision(url)


def require_head(url: str) -> None:
    """Fail with an instruction when the schema is behind the code."""
    current, head = current_revision(url), head_revision()
    if current != head:
        raise MigrationError(
            f"the database schema is at revision {current or 'none'}, the code needs {head}",
            hint="run `cognos db upgrade`",
        )


def ready(settings: Settings) -> DatabaseTarget:
    """The server resolved (started if embedded), both databases there, pgvector checked, schema at head."""
    target = server.prepare(settings)
    upgrade(target.app_url, embedding_dim=settings.embedding_dim)
    return target
