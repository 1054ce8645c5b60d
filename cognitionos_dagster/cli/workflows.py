"""`cognos lint | graph | run | replay | workflows | schema`: the workflow commands."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from cognitionos_dagster.cli.output import command, console, err_console, fail, print_json
from cognitionos_dagster.settings import Settings, load_settings

if TYPE_CHECKING:
    from cognitionos_dagster.dsl.models import WorkflowSpec
    from cognitionos_dagster.errors import SpecError

SpecsOption = typer.Option(
    None, "--specs", help="Folder of workflow specs (default: COGNITIONOS_WORKFLOW_SPECS or ./workflow_specs)."
)


def _settings(specs: Path | None) -> Settings:
    return load_settings(**({"workflow_specs": specs.resolve()} if specs else {}))


@command
def lint(
    paths: list[Path] = typer.Argument(None, help="Spec files or folders (default: the specs folder)."),
    specs: Path | None = SpecsOption,
    no_register: bool = typer.Option(False, "--no-register", help="Validate only; do not touch the registry."),
    syntax_only: bool = typer.Option(False, "--syntax-only",
                                     help="Accept any agent, tool and policy name (no resources folder needed); "
                                          "implies --no-register."),
) -> None:
    """Validate specs (errors as file:line:col: message) and register them; exit 1 on any error."""
    from cognitionos_dagster.compiler.catalog import build_catalog
    from cognitionos_dagster.dsl.catalog import Catalog
    from cognitionos_dagster.dsl.loader import load_specs

    settings = _settings(specs)
    catalog = Catalog.permissive() if syntax_only else build_catalog(settings)
    result = load_specs(paths or [settings.workflow_specs], catalog=catalog)
    register = not (no_register or syntax_only) and result.specs
    refused = _register(settings, result.specs) if register else []
    errors = [*result.errors, *refused]
    for error in errors:
        err_console.print(str(error), markup=False, soft_wrap=True)
    refused_files = {e.file for e in refused}
    valid = [s for s in result.specs if s.source_path not in refused_files]
    console.print(f"{len(valid)} spec(s) valid, {len(errors)} error(s)")
    if errors:
        raise typer.Exit(1)


def _register(settings: Settings, specs: Sequence[WorkflowSpec]) -> list[SpecError]:
    from cognitionos_dagster.db import migrate
    from cognitionos_dagster.db.connection import Database
    from cognitionos_dagster.db.repositories.workflows import WorkflowRegistry

    target = migrate.ready(settings)
    return WorkflowRegistry(Database(target.app_url)).sync_all(specs)[1]


@command
def graph(
    workflow: str = typer.Argument(..., help="WORKFLOW or WORKFLOW@VERSION"),
    fmt: str = typer.Option("mermaid", "--format", "-f", help="mermaid | dot | json"),
    specs: Path | None = SpecsOption,
) -> None:
    """Print the compiled step graph of a workflow."""
    from cognitionos_dagster.compiler.export import render_graph
    from cognitionos_dagster.compiler.jobs import make_resolver
    from cognitionos_dagster.defs.execution import find_spec
    from cognitionos_dagster.defs.workflows import load_workflows

    if fmt not in ("mermaid", "dot", "json"):
        fail(f"unknown format {fmt!r}: use mermaid, dot or json")
    settings = _settings(specs)
    spec = find_spec(settings, workflow, sync_registry=False)
    resolve = make_resolver(load_workflows(settings, sync_registry=False).specs)
    print(render_graph(spec, resolve, fmt))


@command
def run(
    workflow: str = typer.Argument(..., help="WORKFLOW or WORKFLOW@VERSION"),
    inputs: list[str] = typer.Option(None, "--input", "-i", help="name=value (YAML scalar or flow value)."),
    input_file: Path | None = typer.Option(None, "--input-file", help="YAML file with a mapping of inputs."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object (also when the run fails)."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show Dagster's own log lines too."),
    specs: Path | None = SpecsOption,
) -> None:
    """Execute a workflow now on the configured Dagster instance; exit 0 only when it succeeds."""
    from cognitionos_dagster.cli.progress import dagster_logs_held, step_records, watch
    from cognitionos_dagster.defs.execution import find_job, open_instance, parse_inputs, run_workflow

    settings = _settings(specs)
    spec, job_name = find_job(settings, workflow)
    values = spec.validate_inputs(parse_inputs(inputs or [], input_file))
    instance = open_instance(settings)
    with dagster_logs_held(verbose):
        if as_json:
            rep = run_workflow(settings, instance, spec, values, job_name=job_name)
        else:
            console.print(f"running {spec.ref} (job {job_name}) …")
            rep = watch(instance, job_name, spec.topological_order(),
                        lambda: run_workflow(settings, instance, spec, values, job_name=job_name), console,
                        step_records(settings))
    _print_report(rep, as_json)


@command
def replay(
    run_id: str = typer.Argument(..., help="The Dagster run id to re-execute."),
    from_failure: bool = typer.Option(False, "--from-failure", help="Re-run only failed and not-run steps."),
    deterministic: bool = typer.Option(False, "--deterministic", help="Serve recorded LLM and tool outputs."),
    as_json: bool = typer.Option(False, "--json"),
    specs: Path | None = SpecsOption,
) -> None:
    """Re-execute a run (Dagster re-execution), optionally from its failure and deterministically."""
    from cognitionos_dagster.defs.execution import open_instance
    from cognitionos_dagster.defs.execution import replay as do_replay

    settings = _settings(specs)
    instance = open_instance(settings)
    say = err_console.print if as_json else console.print
    rep = do_replay(settings, instance, run_id, from_failure=from_failure, deterministic=deterministic,
                    notify=lambda line: say(line, markup=False))
    _print_report(rep, as_json)


def _print_report(rep: object, as_json: bool) -> None:
    from cognitionos_dagster.defs.execution import RunReport

    assert isinstance(rep, RunReport)
    if as_json:
        print_json(rep.as_json())
    else:
        colour = "green" if rep.status == "success" else "red"
        console.print(f"run [bold]{rep.run_id}[/] {rep.workflow_id}@{rep.version}: [{colour}]{rep.status}[/]")
        for step_id, info in rep.steps.items():
            line = f"  {step_id:<28} {info['status']:<10} attempts={info['attempts']}"
            if info.get("error"):
                line += f"  {str(info['error']).strip().splitlines()[0][:160]}"
            console.print(line, markup=False, highlight=False)
        for key, info in rep.assets.items():
            checks = ", ".join(f"{n} {'passed' if c['passed'] else 'FAILED'}" for n, c in info["checks"].items())
            state = "materialized" if info["materialized"] else "not materialized"
            console.print(f"  asset {key}: {state}" + (f"; {checks}" if checks else ""), markup=False,
                          highlight=False)
        if rep.status != "success":
            console.print(f"hint: the full error and traceback are in the run's logs: `cognos runs`, or the UI's "
                          f"run page /runs/{rep.run_id}; `cognos replay {rep.run_id} --from-failure` retries",
                          markup=False, highlight=False)
        console.print("outputs:", markup=False)
        console.print(json.dumps(rep.outputs, indent=2, default=str), markup=False, highlight=False)
    if rep.status != "success":
        raise typer.Exit(1)


@command
def workflows(
    versions: bool = typer.Option(False, "--versions", help="List every registered version."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """List the workflows (and versions) known to the registry."""
    from cognitionos_dagster.db import server
    from cognitionos_dagster.db.connection import Database
    from cognitionos_dagster.db.repositories.workflows import WorkflowRegistry

    target = server.resolve(load_settings())
    rows = WorkflowRegistry(Database(target.app_url)).list(versions=versions)
    if as_json:
        print_json(rows)
        return
    for row in rows:
        console.print(f"{row['id']:<24} {row['version']:<10} {row['name']}  {row['source_path'] or ''}",
                      markup=False, highlight=False)
    if not rows:
        console.print("no workflows registered yet: run `cognos lint`")


@command
def schema(output: Path | None = typer.Option(None, "--output", "-o", help="Write to a file instead.")) -> None:
    """Print the JSON Schema of a workflow spec (for editor validation and completion)."""
    from cognitionos_dagster.dsl.schema import spec_json_schema

    text = json.dumps(spec_json_schema(), indent=2) + "\n"
    if output:
        output.write_text(text)
        console.print(f"wrote {output}")
    else:
        print(text, end="")


def register(app: typer.Typer) -> None:
    for fn in (lint, graph, run, replay, workflows, schema):
        app.command(name=fn.__name__)(fn)
