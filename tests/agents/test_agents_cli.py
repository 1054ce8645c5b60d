"""`cognos agents` through typer's runner."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cognitionos_dagster.cli.main import app


def test_table_lists_every_role_and_its_model(monkeypatch) -> None:
    monkeypatch.setenv("COGNITIONOS_LLM_MODEL", "llama3.1:8b")
    result = CliRunner().invoke(app, ["agents"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for role in ("planner", "executor", "critic", "summarizer"):
        assert role in result.output
    assert "llama3.1:8b (gpt-4o)" in result.output and "offline provider" in result.output


def test_json_has_schemas() -> None:
    result = CliRunner().invoke(app, ["agents", "--json", "planner"])
    assert result.exit_code == 0, result.output
    (planner,) = json.loads(result.output)
    assert planner["role"] == "planner" and planner["prompt_version"] == "v1"
    assert planner["input_schema"]["required"] == ["goal"]
    assert set(planner["output_schema"]["properties"]) == {"plan", "reasoning", "confidence", "estimated_duration"}


def test_a_bad_definition_is_one_line_and_exit_1(resources: Path, monkeypatch) -> None:
    (resources / "agents" / "planner.yaml").write_text("role: planner\ntemperature: 9\n")
    monkeypatch.setenv("COGNITIONOS_RESOURCES_DIR", str(resources))
    result = CliRunner().invoke(app, ["agents"])
    assert result.exit_code == 1
    assert "planner.yaml:2: temperature: Input should be less than or equal to 2" in result.output
    assert "Traceback" not in result.output
