"""`cognos db` through typer's runner, against a real server named by COGNITIONOS_DATABASE_URL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from cognitionos_dagster.cli.main import app
from cognitionos_dagster.db import migrate
from cognitionos_dagster.db.connection import connect


def cognos(*args: str) -> Result:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


def one_line(result: Result) -> str:
    """Rich wraps at 80 columns when not on a terminal; assertions read the text unwrapped."""
    return " ".join(result.output.split())


def test_status_json_reports_an_external_server_at_head(database_url: str) -> None:
    info = json.loads(cognos("db", "status", "--json").stdout)
    head = migrate.head_revision()
    pages = info.pop("huge_pages")
    with connect(database_url) as conn:  # what the server itself says it needs
        assert pages["needed"] == int(conn.execute("SHOW shared_memory_size_in_huge_pages").fetchone()
                                      ["shared_memory_size_in_huge_pages"])
    assert pages["setting"] == "try" and pages["needed"] > 0
    assert pages["reserved"] == _meminfo("HugePages_Total") and pages["page_kb"] == _meminfo("Hugepagesize")
    if pages["reserved"] == 0:  # nothing for the server to get: it must not be reported in use
        assert pages["in_use"] is False
    assert info == {
        "embedded": False,
        "head": head,
        "running": True,
        "url": database_url,  # no password in the test server's URL, so nothing to redact
        "revision": head,
    }


def _meminfo(key: str) -> int:
    line = next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith(key + ":"))
    return int(line.split()[1])


def test_status_says_what_huge_pages_the_server_needs(database_url: str) -> None:
    """The test server runs on this machine, so its backend's mappings are visible."""
    line = one_line(cognos("db", "status"))
    if _meminfo("HugePages_Total") == 0:
        assert "huge_pages: not in use: the server needs " in line and "the kernel reserves 0" in line
    else:
        assert "huge_pages: in use" in line or "huge_pages: not in use" in line


def test_upgrade_twice_then_current_then_downgrade(empty_database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COGNITIONOS_DATABASE_URL", empty_database_url)
    head = migrate.head_revision()
    assert one_line(cognos("db", "upgrade")) == f"schema: none -> {head}"
    assert one_line(cognos("db", "upgrade")) == f"schema already at {head}"
    assert one_line(cognos("db", "current")) == f"current: {head} head: {head}"

    previous = migrate.current_revision(empty_database_url)
    downgraded = one_line(cognos("db", "downgrade", "-1"))
    assert downgraded.startswith("schema now at ") and downgraded != f"schema now at {previous}"
    assert migrate.current_revision(empty_database_url) == downgraded.removeprefix("schema now at ")
    assert one_line(cognos("db", "upgrade")) == f"schema: {downgraded.removeprefix('schema now at ')} -> {head}"


def test_status_reports_a_schema_behind_the_code(empty_database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COGNITIONOS_DATABASE_URL", empty_database_url)
    info = json.loads(cognos("db", "status", "--json").stdout)
    assert info["revision"] is None and info["head"] == migrate.head_revision()


def test_down_with_an_external_server_stops_nothing(database_url: str) -> None:
    assert "external, nothing to stop" in one_line(cognos("db", "down"))
    assert json.loads(cognos("db", "status", "--json").stdout)["revision"] == migrate.head_revision()


def test_current_with_the_embedded_server_down_says_so_and_starts_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COGNITIONOS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("COGNITIONOS_DATABASE_URL", raising=False)
    result = CliRunner().invoke(app, ["db", "current"])
    assert result.exit_code == 1
    assert "the embedded PostgreSQL in" in result.output and "is not running" in result.output
    assert "cognos db up" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "home").exists()


def test_dev_stops_the_server_it_started_when_preparing_fails(
    fresh_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failing migration must not leave the embedded PostgreSQL that `cognos dev` started running."""
    from cognitionos_dagster.cli import dev as dev_module
    from cognitionos_dagster.db import embedded as embedded_module
    from cognitionos_dagster.errors import MigrationError

    home = fresh_home
    monkeypatch.setenv("COGNITIONOS_HOME", str(home))
    monkeypatch.delenv("COGNITIONOS_DATABASE_URL", raising=False)

    def broken_upgrade(*args: object, **kwargs: object) -> None:
        raise MigrationError("revision 0004 failed")

    monkeypatch.setattr(dev_module.migrate, "upgrade", broken_upgrade)
    try:
        dev_module.prepare_instance()
    except MigrationError:
        pass
    else:
        raise AssertionError("prepare_instance hid the migration failure")
    assert (home / "pg" / "PG_VERSION").exists()  # it did start a real server
    assert not embedded_module.status(home / "pg").running
