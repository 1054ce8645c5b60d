"""`cognos agents`: the agent roles defined in resources/agents/, with models, strategies and schemas."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from cognitionos_dagster.agents.catalog import DEFAULT_MODEL, AgentDefinition, load_agent_catalog
from cognitionos_dagster.agents.prompts import PromptLibrary
from cognitionos_dagster.cli.output import command, console, print_json
from cognitionos_dagster.errors import ConfigError
from cognitionos_dagster.settings import Settings, load_settings


def describe(definition: AgentDefinition, settings: Settings, prompts: PromptLibrary) -> dict[str, Any]:
    model = settings.llm_model if definition.model == DEFAULT_MODEL else definition.model
    return {
        "role": definition.role,
        "description": definition.description,
        "builtin": definition.builtin,
        "model": model,
        "fallback_models": definition.fallback_models,
        "temperature": definition.temperature,
        "allowed_tools": definition.allowed_tools,
        "failure_strategy": definition.failure_strategy,
        "max_retries": definition.max_retries,
        "retry_delay_seconds": definition.retry_delay_seconds,
        "confidence_threshold": definition.confidence_threshold,
        "prompt_version": prompts.resolve(definition.role, definition.prompt_version),
        "prompt_versions": prompts.versions(definition.role),
        "source": str(definition.source),
        "input_schema": definition.input_model.model_json_schema(),
        "output_schema": definition.output_model.model_json_schema(),
    }


@command
def agents(
    as_json: bool = typer.Option(False, "--json", help="Print every role, with JSON schemas, as one JSON array."),
    role: str | None = typer.Argument(None, help="Show only this role."),
) -> None:
    """List the agent roles workflow steps can use, and the model each one calls."""
    settings = load_settings()
    if not (settings.resources_dir / "agents").is_dir():
        raise ConfigError(f"no agent definitions: {settings.resources_dir / 'agents'} is not a folder",
                          hint="point COGNITIONOS_RESOURCES_DIR at the project's resources/ folder")
    catalog = load_agent_catalog(settings.resources_dir)
    prompts = PromptLibrary(settings.resources_dir)
    chosen = [catalog.get(role)] if role else catalog.all()
    described = [describe(d, settings, prompts) for d in chosen]
    if as_json:
        print_json(described)
        return
    mode = "offline provider" if settings.offline else (settings.openai_base_url or "OpenAI")
    table = Table(title=f"CognitionOS agents (models via {mode})", show_lines=True)
    for column in ("role", "model (fallbacks)", "on failure", "confidence ≥", "prompt", "tools", "input"):
        table.add_column(column, overflow="fold", no_wrap=column == "role")  # a role name never breaks
    for d in described:
        models = d["model"] + (f" ({', '.join(d['fallback_models'])})" if d["fallback_models"] else "")
        strategy = f"{d['failure_strategy']} x{d['max_retries']}"
        fields = ", ".join(d["input_schema"].get("properties", {}))
        table.add_row(d["role"], models, strategy, f"{d['confidence_threshold']:.2f}", d["prompt_version"],
                      ", ".join(d["allowed_tools"]) or "-", fields)
    console.print(table)
