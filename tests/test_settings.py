from pathlib import Path

import pytest
from pydantic import ValidationError

from cognitionos_dagster.settings import PROJECT_ROOT, load_settings


def test_defaults_point_into_the_project(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("COGNITIONOS_HOME", "COGNITIONOS_DATABASE_URL", "COGNITIONOS_WORKFLOW_SPECS"):
        monkeypatch.delenv(name, raising=False)
    s = load_settings()
    assert s.home_dir == PROJECT_ROOT / ".cognitionos"
    assert s.pg_dir == PROJECT_ROOT / ".cognitionos" / "pg"
    assert s.dagster_home == PROJECT_ROOT / ".cognitionos" / "dagster"
    assert s.workflow_specs == PROJECT_ROOT / "workflow_specs"
    assert s.uses_embedded_database
    assert s.offline


def test_environment_is_read_when_asked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("COGNITIONOS_HOME", str(tmp_path))
    monkeypatch.setenv("COGNITIONOS_DATABASE_URL", "postgresql://u:p@db:5432/x")
    monkeypatch.setenv("COGNITIONOS_WORKFLOW_SPECS", str(tmp_path / "specs"))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    s = load_settings()
    assert s.home_dir == tmp_path
    assert not s.uses_embedded_database
    assert s.workflow_specs == tmp_path / "specs"
    assert not s.offline
    assert "sk-test" not in repr(s)  # a secret never shows in a repr or a log line


def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COGNITIONOS_EMBEDDING_DIM", "3")
    with pytest.raises(ValidationError, match="embedding_dim"):
        load_settings()
