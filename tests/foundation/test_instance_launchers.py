"""Each deployment's dagster.yaml: its run launcher passes Dagster's own config schema for that class."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from dagster._config import validate_config

from cognitionos_dagster.defs.instance_config import LAUNCHERS, instance_config, run_launcher, write_instance_config
from cognitionos_dagster.settings import Settings

URL = "postgresql://u:p@db:5432/cognitionos"


@pytest.mark.parametrize("launcher", ["docker", "k8s"])
def test_launcher_config_fits_the_launcher_class(launcher: str) -> None:
    spec = run_launcher(launcher)  # type: ignore[arg-type]
    assert spec is not None
    cls = getattr(importlib.import_module(spec["module"]), spec["class"])
    result = validate_config(cls.config_type(), spec["config"])
    assert result.success, [e.message for e in result.errors or []]


def test_run_env_vars_are_settings() -> None:
    known = {f"COGNITIONOS_{name.upper()}" for name in Settings.model_fields}
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        known |= set(getattr(alias, "choices", []) or [])
    spec = run_launcher("docker")
    assert spec is not None and set(spec["config"]["env_vars"]) <= known


@pytest.mark.parametrize("launcher", LAUNCHERS)
def test_each_instance_config_loads_as_a_dagster_instance(launcher: str, tmp_path: Path) -> None:
    """The whole file through Dagster's instance schema (no connection is opened)."""
    from dagster._core.instance.config import dagster_instance_config

    write_instance_config(tmp_path, URL, launcher)  # type: ignore[arg-type]
    config, _ = dagster_instance_config(str(tmp_path))
    expected = {"local": "MonitoredRunLauncher", "docker": "DockerRunLauncher", "k8s": "K8sRunLauncher"}[launcher]
    assert config["run_launcher"]["class"] == expected
    assert config["run_retries"]["enabled"]  # a lost worker's run tagged dagster/max_retries runs again
    assert config["run_coordinator"]["config"]["max_user_code_failure_retries"] > 0  # a code-server roll-out
    assert instance_config(URL, launcher)["run_coordinator"]["class"] == "QueuedRunCoordinator"  # type: ignore[arg-type]


def test_cli_writes_a_docker_instance_without_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from cognitionos_dagster.cli.main import app

    monkeypatch.setenv("COGNITIONOS_DATABASE_URL", "postgresql://u:s3cret@db:5432/cognitionos")
    result = CliRunner().invoke(app, ["instance-config", "--launcher", "docker", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "dagster.yaml").read_text()
    assert "DockerRunLauncher" in text and "DAGSTER_POSTGRES_URL" in text and "s3cret" not in text
    bad = CliRunner().invoke(app, ["instance-config", "--launcher", "nomad", "-o", str(tmp_path)])
    assert bad.exit_code == 1 and "unknown launcher" in bad.output
