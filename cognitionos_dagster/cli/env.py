"""`cognos env`: the exports that make Dagster's own CLI find this project's instance.

`dagster job launch` and friends read `DAGSTER_HOME` and nothing else; without it they stop
with `DagsterHomeNotSetError`. Printing the exports (`eval "$(cognos env)"`) keeps one source
for where the instance lives: the same settings `cognos dev` uses.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import typer

from cognitionos_dagster.cli.output import command, err_console
from cognitionos_dagster.settings import Settings, load_settings


def exports(settings: Settings, bindir: Path) -> dict[str, str]:
    """Every variable a shell needs so that `dagster …` and `cognos …` act on this project.

    `COGNITIONOS_DATABASE_URL` is left out on purpose: it may hold a password, and a shell
    that has it set keeps it anyway."""
    values = {
        "DAGSTER_HOME": str(settings.dagster_home),
        "COGNITIONOS_HOME": str(settings.home_dir),
        "COGNITIONOS_WORKFLOW_SPECS": str(settings.workflow_specs.resolve()),
        "COGNITIONOS_RESOURCES_DIR": str(settings.resources_dir.resolve()),
    }
    values["PATH"] = f"{bindir}:$PATH"
    return values


@command
def env(
    prepare: bool = typer.Option(
        True, "--prepare/--no-prepare",
        help="Start the database if needed, migrate it and write dagster.yaml (the default).",
    ),
) -> None:
    """Print shell exports for Dagster's CLI: run `eval "$(cognos env)"`, then `dagster job launch …`."""
    settings = load_settings()
    if prepare:
        from cognitionos_dagster.db import migrate
        from cognitionos_dagster.defs.instance_config import write_instance_config

        target = migrate.ready(settings)
        write_instance_config(settings.dagster_home, target.dagster_url)
        if target.embedded:
            err_console.print("# the embedded PostgreSQL is running; `cognos db down` stops it", markup=False)
    for name, value in exports(settings, Path(sys.executable).parent).items():
        quoted = f'"{value}"' if name == "PATH" else shlex.quote(value)  # PATH keeps $PATH expandable
        sys.stdout.write(f"export {name}={quoted}\n")
