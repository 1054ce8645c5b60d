"""CLI tests run `cognos` through typer's runner on a real database and Dagster instance."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cognitionos_dagster.cli.main import app

runner = CliRunner()


def cognos(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> Path:
    """A home, a specs folder and this database, all through the environment like a user's shell."""
    (tmp_path / "specs").mkdir()
    monkeypatch.setenv("COGNITIONOS_WORKFLOW_SPECS", str(tmp_path / "specs"))
    monkeypatch.setenv("COGNITIONOS_HOME", str(tmp_path / "home"))
    return tmp_path


@pytest.fixture
def write_spec(project: Path) -> Callable[[str, str], Path]:
    def write(name: str, text: str) -> Path:
        path = project / "specs" / f"{name}.yaml"
        path.write_text(textwrap.dedent(text).lstrip())
        return path

    return write
