"""`cognos instance-config`: the dagster.yaml of a deployment (local, Docker hosts, Kubernetes)."""

from __future__ import annotations

from pathlib import Path

import typer

from cognitionos_dagster.cli.output import command, console, fail


@command
def instance_config(
    launcher: str = typer.Option("local", "--launcher", help="local | docker | k8s"),
    output: Path = typer.Option(Path("."), "--output", "-o", help="Folder to write dagster.yaml into."),
) -> None:
    """Write the dagster.yaml for a deployment (docs/deployment.md); no secret is written into it."""
    from cognitionos_dagster.db import server
    from cognitionos_dagster.defs.instance_config import LAUNCHERS, write_instance_config
    from cognitionos_dagster.settings import load_settings

    if launcher not in LAUNCHERS:
        fail(f"unknown launcher {launcher!r}: use {', '.join(LAUNCHERS)}")
    url = server.resolve(load_settings()).dagster_url if launcher == "local" else ""
    path = write_instance_config(output, url, launcher)  # `in LAUNCHERS` narrowed it
    console.print(f"wrote {path}")
