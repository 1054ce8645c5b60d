"""Which PostgreSQL to use, and making sure it is fit: databases exist, pgvector is new enough.

With `COGNITIONOS_DATABASE_URL` set, that server is used and nothing is started; its
database holds CognitionOS's schema and a sibling database (`<name>_dagster`) holds
Dagster's runs, event logs and schedules. With no URL, the embedded server is started
(or reused) and holds the `cognitionos` and `dagster` databases.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from cognitionos_dagster.db import embedded
from cognitionos_dagster.db.connection import connect
from cognitionos_dagster.db.urls import database_name, redact, with_database
from cognitionos_dagster.errors import DatabaseError
from cognitionos_dagster.settings import Settings

MIN_PGVECTOR = (0, 5)


@dataclass(frozen=True)
class DatabaseTarget:
    """The URLs of CognitionOS's database and Dagster's storage on one server."""

    app_url: str
    dagster_url: str
    embedded: bool


def resolve(settings: Settings, *, start: bool = True) -> DatabaseTarget:
    """Find (and, for the embedded server, start) the database the settings name."""
    if settings.database_url:
        app = settings.database_url
        return DatabaseTarget(app, with_database(app, f"{database_name(app)}_dagster"), embedded=False)
    st = embedded.ensure_running(settings.pg_dir) if start else embedded.status(settings.pg_dir)
    return DatabaseTarget(
        st.url(embedded.APP_DATABASE), st.url(embedded.DAGSTER_DATABASE), embedded=True
    )


def ensure_database(url: str) -> bool:
    """Create the database the URL names when it is missing; True when created."""
    name = database_name(url)
    admin = with_database(url, "postgres")
    with connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return False
        try:
            conn.execute(f'CREATE DATABASE "{name}"')
        except (psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
            # Another process won the race; a simultaneous CREATE fails on pg_database's index.
            return False
        except psycopg.errors.InsufficientPrivilege as exc:
            raise DatabaseError(
                f"database {name!r} does not exist and this user may not create it",
                hint=f"create it once as an admin: CREATE DATABASE \"{name}\"",
            ) from exc
    return True


def parse_version(text: str) -> tuple[int, ...]:
    """"0.6.2" -> (0, 6, 2); pre-release suffixes ("0.8.0-rc1") are ignored."""
    return tuple(int(part) for part in text.split("-")[0].split(".") if part.isdigit())


def pgvector_version(url: str) -> tuple[int, ...] | None:
    """The version pgvector offers on this server, or None when it is not installed."""
    with connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT default_version FROM pg_available_extensions WHERE name = 'vector'"
        ).fetchone()
    return None if row is None else parse_version(str(row["default_version"]))


def require_pgvector(version: tuple[int, ...] | None, where: str) -> tuple[int, ...]:
    """Refuse a server without pgvector or with one too old for HNSW; `where` is a redacted URL."""
    if version is None:
        raise DatabaseError(
            f"the server at {where} has no pgvector extension",
            hint="install pgvector >= 0.5 on that server (e.g. the postgresql-16-pgvector package), "
            "or unset COGNITIONOS_DATABASE_URL to use the embedded server that ships it",
        )
    if version < MIN_PGVECTOR:
        raise DatabaseError(
            f"pgvector {'.'.join(map(str, version))} is too old at {where}: HNSW needs >= 0.5",
            hint="upgrade pgvector on that server (ALTER EXTENSION vector UPDATE after installing)",
        )
    return version


def check_pgvector(url: str) -> tuple[int, ...]:
    return require_pgvector(pgvector_version(url), redact(url))


def prepare(settings: Settings) -> DatabaseTarget:
    """Resolve the server, create both databases and check pgvector: everything before migrations."""
    target = resolve(settings)
    ensure_database(target.app_url)
    ensure_database(target.dagster_url)
    check_pgvector(target.app_url)
    return target
