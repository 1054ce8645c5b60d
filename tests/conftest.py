"""Shared fixtures: one real PostgreSQL per test run, an isolated database per test,
a Dagster instance on PostgreSQL, and no network beyond loopback.

The server is the embedded one in `.cognitionos/test/pg` (or the server named by
`COGNITIONOS_TEST_DATABASE_URL`); a run stops the embedded server it started when it ends,
unless `KEEP_TEST_PG=1` keeps it for the next run. Each test's database is cloned from a template that
was migrated once, which costs ~50 ms instead of running every migration again.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from cognitionos_dagster.db import embedded, migrate
from cognitionos_dagster.db.connection import close_all_pools, connect
from cognitionos_dagster.db.urls import with_database
from cognitionos_dagster.settings import PROJECT_ROOT, Settings, load_settings

TEST_HOME = PROJECT_ROOT / ".cognitionos" / "test"
_MODEL_ENV = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "COGNITIONOS_DATABASE_URL", "OTEL_EXPORTER_OTLP_ENDPOINT")


# --------------------------------------------------------------------------- network guard
_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: object) -> object:
    if self.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
        host = str(address[0])
        try:
            allowed = ipaddress.ip_address(host).is_loopback
        except ValueError:
            allowed = host == "localhost"
        if not allowed:
            raise ConnectionRefusedError(f"tests may not reach {host}: only loopback is allowed")
    return _real_connect(self, address)


def pytest_configure(config: pytest.Config) -> None:
    for name in _MODEL_ENV:
        os.environ.pop(name, None)  # the offline model provider; no real endpoints
    os.environ["COGNITIONOS_HOME"] = str(TEST_HOME)
    os.environ["COLUMNS"] = "200"  # rich reads it once: CLI tables render wide, not folded at 80 columns
    socket.socket.connect = _loopback_only
    if not hasattr(config, "workerinput"):  # the xdist controller, or a plain run
        _start_server(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    # A run stops the server it started, so `make test` leaves no process behind; keeping it
    # between runs for speed is opt-in (KEEP_TEST_PG=1). A server found running is not ours.
    if getattr(config, "_cognitionos_started_pg", False) and os.environ.get("KEEP_TEST_PG") != "1":
        close_all_pools()
        embedded.stop(TEST_HOME / "pg")


def _start_server(config: pytest.Config) -> None:
    if os.environ.get("COGNITIONOS_TEST_DATABASE_URL"):
        return
    was_running = embedded.status(TEST_HOME / "pg").running
    TEST_HOME.mkdir(parents=True, exist_ok=True)
    embedded.ensure_running(TEST_HOME / "pg")
    config._cognitionos_started_pg = not was_running


def server_url(database: str = "postgres") -> str:
    external = os.environ.get("COGNITIONOS_TEST_DATABASE_URL")
    if external:
        return with_database(external, database)
    return embedded.ensure_running(TEST_HOME / "pg").url(database)


# --------------------------------------------------------------------------- databases
def _migrations_fingerprint() -> str:
    h = hashlib.sha256()
    for path in sorted(migrate.MIGRATIONS_DIR.rglob("*.py")):
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


TEMPLATE_LOCK = 0x7465_6D70  # advisory lock key guarding the template build


@pytest.fixture(scope="session")
def template_database() -> str:
    """A database migrated to head, cloned by every test; rebuilt when migrations change."""
    name = f"cogtest_tmpl_{_migrations_fingerprint()}"
    with connect(server_url(), autocommit=True) as admin:
        admin.execute("SELECT pg_advisory_lock(%s)", (TEMPLATE_LOCK,))
        try:
            exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if not exists:
                building = f"{name}_building"
                admin.execute(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
                admin.execute(f'CREATE DATABASE "{building}"')
                migrate.upgrade(server_url(building))
                admin.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
        finally:
            admin.execute("SELECT pg_advisory_unlock(%s)", (TEMPLATE_LOCK,))
    return name


def create_database(template: str | None = None) -> str:
    name = f"cogtest_{uuid.uuid4().hex[:12]}"
    with connect(server_url(), autocommit=True) as admin:
        clause = f' TEMPLATE "{template}"' if template else ""
        for attempt in range(20):
            try:
                admin.execute(f'CREATE DATABASE "{name}"{clause}')
                break
            except psycopg.errors.ObjectInUse:  # another worker is cloning the template right now
                if attempt == 19:
                    raise
                import time

                time.sleep(0.1)
    return server_url(name)


def drop_database(url: str) -> None:
    from cognitionos_dagster.db.urls import database_name

    close_all_pools()
    with connect(server_url(), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database_name(url)}" WITH (FORCE)')


@pytest.fixture
def database_url(template_database: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh, migrated database for this test; also what resources and the CLI resolve to."""
    url = create_database(template_database)
    monkeypatch.setenv("COGNITIONOS_DATABASE_URL", url)
    yield url
    drop_database(url)


@pytest.fixture
def empty_database_url() -> Iterator[str]:
    """A fresh database with no schema at all (migration tests)."""
    url = create_database()
    yield url
    drop_database(url)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return load_settings(home=tmp_path / "home", database_url=database_url)


@pytest.fixture
def db(database_url: str):
    from cognitionos_dagster.db.connection import Database

    return Database(database_url)


# --------------------------------------------------------------------------- Dagster
@pytest.fixture(scope="session")
def dagster_storage_url() -> Iterator[str]:
    url = create_database()
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def dagster_instance(dagster_storage_url: str, tmp_path_factory: pytest.TempPathFactory):
    """A real Dagster instance whose runs and events live in PostgreSQL (one per worker)."""
    import dagster as dg

    from cognitionos_dagster.defs.instance_config import write_instance_config

    home = tmp_path_factory.mktemp("dagster_home")
    write_instance_config(home, dagster_storage_url)
    instance = dg.DagsterInstance.from_config(str(home))
    yield instance
    instance.dispose()
