"""deploy/: the compose file and the Helm values parse, name only commands the image has, and pass only
environment variables the settings (or Dagster) know. Containers do not run here; these are static checks."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from cognitionos_dagster.cli.main import app
from cognitionos_dagster.defs.instance_config import instance_config
from cognitionos_dagster.settings import PROJECT_ROOT, Settings

DEPLOY = PROJECT_ROOT / "deploy"
IMAGE_COMMANDS = {"cognos", "dagster", "dagster-webserver", "dagster-daemon", "sh"}  # installed by the Dockerfile
DAGSTER_ENV = {"DAGSTER_HOME", "DAGSTER_POSTGRES_URL", "DAGSTER_CURRENT_IMAGE"}


def _known_env() -> set[str]:
    known = {f"COGNITIONOS_{name.upper()}" for name in Settings.model_fields}
    for field in Settings.model_fields.values():
        known |= set(getattr(field.validation_alias, "choices", None) or [])
    return known | DAGSTER_ENV


def _commands(command: list[str]) -> list[list[str]]:
    """Each program a container command runs (`sh -c "a && b"` counts as a and b)."""
    if command[:2] == ["sh", "-c"]:
        return [shlex.split(part) for part in re.split(r"&&|;", command[2])]
    return [command]


def _check_command(words: list[str]) -> None:
    assert words[0] in IMAGE_COMMANDS, f"{words[0]} is not in the image"
    if words[0] == "cognos":  # the sub-command exists and takes these options
        sub = [w for w in words[1:] if not w.startswith("-")][:2]
        result = CliRunner().invoke(app, [*sub, "--help"])
        assert result.exit_code == 0, f"cognos {' '.join(sub)}: {result.output}"
        for option in (w for w in words if w.startswith("--")):
            assert option in result.output, f"cognos {' '.join(sub)} has no {option}"
    if words[0] in ("dagster-webserver", "dagster-daemon") or words[:2] == ["dagster", "api"]:
        assert "-w" not in words or words[words.index("-w") + 1] == "/opt/dagster/workspace.yaml"


def _our_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: s for n, s in compose["services"].items() if str(s.get("image", "")).startswith("cognitionos")}


def test_compose_parses_and_uses_only_image_commands_and_known_env() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    ours = _our_services(compose)
    assert {"migrate", "code_server", "webserver", "daemon"} <= set(ours)
    assert compose["services"]["postgres"]["image"].startswith("pgvector/pgvector")
    assert compose["services"]["jaeger"]["environment"]["COLLECTOR_OTLP_ENABLED"] == "true"
    for name, service in ours.items():
        for words in _commands(service["command"]):
            _check_command(words)
        unknown = set(service["environment"]) - _known_env()
        assert not unknown, f"{name} passes variables no setting reads: {unknown}"
    assert any("--launcher docker" in " ".join(s["command"]) for s in ours.values())


def test_helm_values_parse_and_name_the_topology() -> None:
    values = yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())
    assert values["postgresql"]["enabled"] is False
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    queue = values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    assert {"key": "cognitionos/llm-heavy", "value": "true", "limit": 2} in queue["tagConcurrencyLimits"]
    local = instance_config("postgresql://u@h/d")["run_coordinator"]["config"]  # the chart's queue is ours
    assert (queue["maxConcurrentRuns"], queue["dequeueIntervalSeconds"], queue["dequeueUseThreads"]) == (
        local["max_concurrent_runs"], local["dequeue_interval_seconds"], local["dequeue_use_threads"])
    deployment = values["dagster-user-deployments"]["deployments"][0]
    assert deployment["dagsterApiGrpcArgs"][:2] == ["-m", "cognitionos_dagster.definitions"]
    job = next(m for m in values["extraManifests"] if m["kind"] == "Job")
    assert "pre-upgrade" in job["metadata"]["annotations"]["helm.sh/hook"]
    for container in job["spec"]["template"]["spec"]["containers"]:
        _check_command(container["command"])


@pytest.mark.parametrize("path", ["Dockerfile"])
def test_dockerfile_runs_as_non_root_and_ships_specs(path: str) -> None:
    text = (DEPLOY / path).read_text()
    users = re.findall(r"^USER (\S+)", text, flags=re.M)
    assert users and users[-1] != "root"
    for folder in ("workflow_specs", "resources", "cognitionos_dagster"):
        assert f"COPY {folder}" in text and (PROJECT_ROOT / folder).is_dir()
    assert "cognitionos_dagster.definitions" in text
    assert Path(PROJECT_ROOT / "deploy" / "workspace.yaml").is_file()
