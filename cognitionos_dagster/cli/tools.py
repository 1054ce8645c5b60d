"""`cognos tools`: the registered tools with their permissions, input/output JSON schemas and the
agent roles allowed to call them."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from cognitionos_dagster.agents.catalog import load_agent_catalog
from cognitionos_dagster.cli.output import command, console, print_json
from cognitionos_dagster.settings import load_settings
from cognitionos_dagster.tools import default_registry


def _fields(schema: dict[str, Any]) -> str:
    """One line per field: name, type, and whether it is required (the full schema is in --json)."""
    required = set(schema.get("required", []))
    lines = []
    for name, prop in schema.get("properties", {}).items():
        kind = prop.get("type") or " | ".join(p.get("type", "?") for p in prop.get("anyOf", [])) or "any"
        lines.append(f"{name}: {kind}{' *' if name in required else ''}")
    return "\n".join(lines)


@command
def tools(
    as_json: bool = typer.Option(False, "--json", help="Print the full JSON schemas as one JSON array."),
    name: str | None = typer.Argument(None, help="Show only this tool."),
) -> None:
    """List the tools agents and workflow steps can call (* marks a required input field)."""
    registry = default_registry()
    described = [registry.get(name).describe()] if name else registry.describe()
    catalog = load_agent_catalog(load_settings().resources_dir)
    for tool in described:
        tool["roles"] = [d.role for d in catalog.all() if tool["name"] in d.allowed_tools]
    if as_json:
        print_json(described)
        return
    table = Table(title="CognitionOS tools", show_lines=True)
    for column in ("tool", "description", "permissions", "roles", "input", "output"):
        table.add_column(column, overflow="fold")
    for tool in described:
        table.add_row(tool["name"], tool["description"], ", ".join(tool["permissions"]),
                      ", ".join(tool["roles"]) or "-", _fields(tool["input_schema"]), _fields(tool["output_schema"]))
    console.print(table)
