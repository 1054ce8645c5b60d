"""Fixtures of the foundation tests: a private embedded PostgreSQL in a tmp COGNITIONOS_HOME.

`initdb` costs ~2 s, so one cluster serves the whole module that asks for it; every test
leaves it stopped, as it found it.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from cognitionos_dagster.db import embedded
from cognitionos_dagster.db.connection import close_all_pools


@contextmanager
def server_home() -> Iterator[Path]:
    """A fresh folder for an embedded server, outside pytest's tmp tree.

    As root, pgserver runs PostgreSQL as the `pgserver` user and opens the folders above the
    data folder for it; a concurrent pytest session closes `/tmp/pytest-of-<user>` again
    (mode 0700), and the running server then PANICs on `global/pg_control`.
    """
    home = Path(tempfile.mkdtemp(prefix="cognitionos-test-"))
    try:
        yield home
    finally:
        close_all_pools()
        embedded.stop(home / "pg")
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster_home() -> Iterator[Path]:
    """A COGNITIONOS_HOME whose `pg/` holds an initialised, stopped cluster."""
    with server_home() as home:
        embedded.ensure_running(home / "pg")
        embedded.stop(home / "pg")
        yield home


@pytest.fixture
def fresh_home() -> Iterator[Path]:
    """An empty COGNITIONOS_HOME; whatever server a test starts in it is stopped afterwards."""
    with server_home() as home:
        yield home


@pytest.fixture
def stopped_cluster(cluster_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The module's cluster, stopped before and after the test; COGNITIONOS_HOME points at it."""
    pg = cluster_home / "pg"
    embedded.stop(pg)
    monkeypatch.setenv("COGNITIONOS_HOME", str(cluster_home))
    monkeypatch.delenv("COGNITIONOS_DATABASE_URL", raising=False)
    yield pg
    close_all_pools()
    embedded.stop(pg)


@pytest.fixture(autouse=True)
def drop_dagster_siblings(request: pytest.FixtureRequest) -> Iterator[None]:
    """`server.prepare` creates `<db>_dagster` beside a URL's database; the shared fixtures drop
    only `<db>`, so drop the sibling of this test's database too."""
    yield
    from cognitionos_dagster.db.connection import connect
    from cognitionos_dagster.db.urls import database_name, with_database

    for name in ("database_url", "empty_database_url"):
        url = request.node.funcargs.get(name)
        if isinstance(url, str):
            with connect(with_database(url, "postgres"), autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{database_name(url)}_dagster" WITH (FORCE)')
