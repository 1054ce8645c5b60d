"""`cognos`: the developer CLI. Each sub-command group lives in its own module."""

from __future__ import annotations

import typer

from cognitionos_dagster.cli import agents, arch, db, deploy, dev, env, escalations, gates, new, runs, tools, workflows
from cognitionos_dagster.cli import memory as memory_cli
from cognitionos_dagster.cli import metrics as metrics_cli

app = typer.Typer(
    name="cognos",
    help="CognitionOS on Dagster: lint, graph, run and replay workflows; manage the database.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db.app, name="db")
app.add_typer(memory_cli.app, name="memory")
app.add_typer(escalations.app, name="escalations")
app.add_typer(new.app, name="new")
app.add_typer(gates.app, name="gates")
app.command(name="dev")(dev.dev)
app.command(name="arch")(arch.arch)
app.command(name="tools")(tools.tools)
app.command(name="agents")(agents.agents)
app.command(name="metrics")(metrics_cli.metrics)
app.command(name="env")(env.env)
app.command(name="runs")(runs.runs)
app.command(name="instance-config")(deploy.instance_config)
workflows.register(app)


def main() -> None:
    app()
