"""Choosing and checking the server: unreachable URLs, pgvector versions, database creation."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cognitionos_dagster.cli.main import app
from cognitionos_dagster.db import server
from cognitionos_dagster.db.connection import Database, connect
from cognitionos_dagster.db.urls import redact, with_database
from cognitionos_dagster.errors import ConfigError, DatabaseError
from cognitionos_dagster.settings import load_settings

UNREACHABLE = "postgresql://someone:s3cret-pw@127.0.0.1:1/cognitionos"


def test_an_unreachable_url_gives_one_clear_error_without_the_password(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "home", database_url=UNREACHABLE)
    with pytest.raises(DatabaseError) as info:
        server.prepare(settings)
    text = str(info.value)
    assert text.startswith("cannot reach PostgreSQL at postgresql://someone:***@127.0.0.1:1/")
    assert "Connection refused" in text
    assert "COGNITIONOS_DATABASE_URL" in (info.value.hint or "")
    assert "s3cret-pw" not in text
    assert not (tmp_path / "home").exists()  # with a URL nothing is started or created locally


def test_the_pool_fails_fast_with_the_reason_instead_of_waiting(tmp_path: Path) -> None:
    import time

    started = time.monotonic()
    with pytest.raises(DatabaseError, match="Connection refused") as info:
        Database(UNREACHABLE).fetch_one("SELECT 1")
    assert time.monotonic() - started < 5
    assert "s3cret-pw" not in str(info.value)


def test_the_cli_prints_one_error_line_and_a_hint(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("COGNITIONOS_HOME", str(tmp_path))
    monkeypatch.setenv("COGNITIONOS_DATABASE_URL", UNREACHABLE)
    result = CliRunner().invoke(app, ["db", "upgrade"])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines[0].startswith("error: cannot reach PostgreSQL at postgresql://someone:***@")
    assert lines[1].strip().startswith("hint:")
    assert "Traceback" not in result.output and "s3cret-pw" not in result.output


def test_a_url_that_is_not_postgresql_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not a PostgreSQL URL") as info:
        server.prepare(load_settings(database_url="mysql://root:pw@db/x"))
    assert "pw" not in str(info.value).split("hint")[0].replace("postgresql://user:password", "")


def test_redact_hides_only_the_password() -> None:
    assert redact("postgresql://u:p%40ss@h:5/d?sslmode=require") == "postgresql://u:***@h:5/d?sslmode=require"
    assert redact("postgresql://postgres:@/x?host=/tmp") == "postgresql://postgres:@/x?host=/tmp"


def test_the_real_servers_pgvector_passes_and_old_or_missing_ones_are_refused(database_url: str) -> None:
    real = server.pgvector_version(database_url)
    assert real is not None and real >= server.MIN_PGVECTOR
    assert server.check_pgvector(database_url) == real
    assert server.require_pgvector(real, "here") == real

    with pytest.raises(DatabaseError, match=r"pgvector 0\.4\.4 is too old at db:5432") as old:
        server.require_pgvector(server.parse_version("0.4.4"), "db:5432")
    assert "ALTER EXTENSION vector UPDATE" in (old.value.hint or "")
    with pytest.raises(DatabaseError, match="has no pgvector extension") as missing:
        server.require_pgvector(None, "db:5432")
    assert "pgvector >= 0.5" in (missing.value.hint or "")


def test_parse_version() -> None:
    assert server.parse_version("0.6.2") == (0, 6, 2)
    assert server.parse_version("0.8.0-rc1") == (0, 8, 0)
    assert server.parse_version("0.5") >= server.MIN_PGVECTOR > server.parse_version("0.4.9")


def test_prepare_creates_both_databases_once_even_when_raced(database_url: str, tmp_path: Path) -> None:
    name = f"cogtest_prep_{uuid.uuid4().hex[:8]}"
    app_url = with_database(database_url, name)
    try:
        target = server.prepare(load_settings(home=tmp_path, database_url=app_url))
        assert (target.app_url, target.embedded) == (app_url, False)
        assert target.dagster_url == with_database(app_url, f"{name}_dagster")

        created: list[bool] = []
        threads = [threading.Thread(target=lambda: created.append(server.ensure_database(
            with_database(app_url, f"{name}_race")))) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(created) == [False, False, False, True]
        with connect(with_database(app_url, "postgres"), autocommit=True) as admin:
            names = {r["datname"] for r in admin.execute("SELECT datname FROM pg_database").fetchall()}
        assert {name, f"{name}_dagster", f"{name}_race"} <= names
    finally:
        with connect(with_database(app_url, "postgres"), autocommit=True) as admin:
            for db in (name, f"{name}_dagster", f"{name}_race"):
                admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
