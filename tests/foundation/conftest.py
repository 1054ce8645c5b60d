"""Fixtures of the foundation tests: a private embedded PostgreSQL in a tmp COGNITIONOS_HOME.

`initdb` costs ~2 s, so one cluster serves the whole module that asks for it; every test
leaves it stopped, as it found it.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from cognitionos_dagster.db import embedded
from cognitionos_dagster.db.connection import close_all_pools


@pytest.fixture(scope="module")
def cluster_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A COGNITIONOS_HOME whose `pg/` holds an initialised, stopped cluster."""
    home = tmp_path_factory.mktemp("home")
    embedded.ensure_running(home / "pg")
    embedded.stop(home / "pg")
    yield home
    close_all_pools()
    embedded.stop(home / "pg")


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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
