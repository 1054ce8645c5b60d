"""Loading the code location touches nothing: no socket, no database, no process, no environment."""

from __future__ import annotations

import os
import socket
import subprocess

import dagster as dg
import psycopg
import psycopg2
import pytest
from dagster._core.definitions.definitions_load_context import DefinitionsLoadContext, DefinitionsLoadType

from cognitionos_dagster.definitions import defs


class Touched(AssertionError):
    """Raised by the guards below: loading definitions reached outside the process."""


ATTEMPTS: list[str] = []  # every refused attempt, even one the code under test caught and swallowed


def _refuse(*args: object, **kwargs: object) -> None:
    ATTEMPTS.append(repr(args or kwargs)[:200])
    raise Touched(f"definitions load reached out: {args or kwargs}")


@pytest.fixture
def sealed(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """No settings in the environment but a home where no database runs, and every way out
    (TCP, Unix sockets, libpq, child processes) closed."""
    ATTEMPTS.clear()
    for name in list(os.environ):
        if name.startswith(("COGNITIONOS_", "OPENAI_", "OTEL_", "DAGSTER_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("COGNITIONOS_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(socket.socket, "connect", _refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", _refuse)
    monkeypatch.setattr(psycopg.Connection, "connect", classmethod(_refuse))
    monkeypatch.setattr(psycopg, "connect", _refuse)
    monkeypatch.setattr(psycopg2, "connect", _refuse)
    monkeypatch.setattr(subprocess.Popen, "_execute_child", _refuse)


def test_the_guards_really_refuse(sealed: None) -> None:
    with pytest.raises(Touched):
        socket.create_connection(("127.0.0.1", 9))
    with socket.socket(socket.AF_UNIX) as unix, pytest.raises(Touched):
        unix.connect("/tmp/.s.PGSQL.5432")
    with pytest.raises(Touched):
        psycopg.connect("postgresql://x@127.0.0.1/x")
    with pytest.raises(Touched):
        subprocess.run(["true"], check=False)


def test_definitions_load_sealed_and_hold_the_platform_job(sealed: None) -> None:
    """With no database up, nothing may connect, start a server or spawn a process while the location
    loads, and a refused attempt must not be hidden by a try/except. (With the platform database
    already up, loading consults the workflow registry there: see tests/compiler.) Loaded as a code
    server loads it: a run worker's reconstruction (left set by any earlier run in this process)
    gets the per-job repository instead (tests/compiler/test_per_job_load.py)."""
    with DefinitionsLoadContext.scoped(DefinitionsLoadContext(load_type=DefinitionsLoadType.INITIALIZATION)):
        loaded = defs()
    assert ATTEMPTS == [], "loading definitions tried to reach out:\n" + "\n".join(ATTEMPTS)
    assert isinstance(loaded, dg.Definitions)
    repo = loaded.get_repository_def()
    jobs = {job.name for job in repo.get_all_jobs()}
    assert "platform_health" in jobs
    assert "db" in loaded.resources
    assert {"deploy_web_app", "health_check", "memory_gc", "agent_training", "prompt_ab_test"} <= jobs
    specs_asset = loaded.get_assets_def("workflow_specs")
    assert "registry not checked" in specs_asset.descriptions_by_key[dg.AssetKey("workflow_specs")]
    dg.Definitions.validate_loadable(loaded)
