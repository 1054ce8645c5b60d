"""One database, three drivers: libpq for psycopg 3, SQLAlchemy for Alembic, psycopg2 for Dagster.

dagster-postgres picks psycopg 3 for a bare `postgresql://` URL when SQLAlchemy 2.1 and
psycopg 3 are installed, and then fails writing events; it must get `postgresql+psycopg2://`.
"""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit, urlunsplit

_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2")


def _split(url: str) -> SplitResult:
    parts = urlsplit(url)
    if parts.scheme not in _SCHEMES:
        from cognitionos_dagster.errors import ConfigError

        raise ConfigError(
            f"not a PostgreSQL URL: {redact(url)!r}",
            hint="use postgresql://user:password@host:port/dbname",
        )
    return parts


def libpq_url(url: str) -> str:
    """The URL psycopg 3 and psql understand."""
    parts = _split(url)
    return urlunsplit(("postgresql", *parts[1:]))


def sqlalchemy_url(url: str) -> str:
    """The URL Alembic's SQLAlchemy engine uses (psycopg 3 driver)."""
    parts = _split(url)
    return urlunsplit(("postgresql+psycopg", *parts[1:]))


def dagster_url(url: str) -> str:
    """The URL dagster-postgres must get (psycopg2 driver, see module docstring)."""
    parts = _split(url)
    return urlunsplit(("postgresql+psycopg2", *parts[1:]))


def with_database(url: str, dbname: str) -> str:
    """The same server, another database."""
    parts = _split(url)
    return urlunsplit((parts[0], parts[1], "/" + dbname, parts[3], parts[4]))


def database_name(url: str) -> str:
    return _split(url)[2].lstrip("/") or "postgres"


def redact(url: str) -> str:
    """The URL with its password replaced, safe for logs and error messages."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return url
