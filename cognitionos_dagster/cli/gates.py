"""`cognos gates`: the quality-gate policies, and a policy tried on an output from a file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
import yaml
from rich.table import Table

from cognitionos_dagster.cli.output import command, console, fail, print_json
from cognitionos_dagster.quality.policies import get_policy, load_quality_policies
from cognitionos_dagster.settings import load_settings

app = typer.Typer(help="Quality-gate policies: list, show, evaluate one on an output; A/B test prompts.",
                  no_args_is_help=True)


def _read(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))  # JSON is YAML too
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}")
    except yaml.YAMLError as exc:
        fail(f"{path}: not JSON or YAML: {exc}")


@app.command("list")
@command
def list_(as_json: bool = typer.Option(False, "--json", help="Print the policies as one JSON array.")) -> None:
    """Every policy in resources/policies/quality/."""
    policies = load_quality_policies(load_settings().resources_dir)
    if as_json:
        print_json([p.model_dump(mode="json") for p in policies.values()])
        return
    table = Table(title="Quality-gate policies")
    for column in ("policy", "quality ≥", "confidence ≥", "critique rounds", "verifier", "blocking", "scorers"):
        table.add_column(column)
    for p in policies.values():
        verifier = f"{p.verifier.role} x{p.verifier.samples}" if p.require_cross_verification and p.verifier else "-"
        table.add_row(p.name, f"{p.min_quality_score:.2f}", f"{p.min_confidence_score:.2f}", str(p.critique_rounds),
                      verifier, "yes" if p.blocking else "no", ", ".join(p.scorers) or "-")
    console.print(table)


@app.command("show")
@command
def show(name: str = typer.Argument(..., help="The policy's name.")) -> None:
    """One policy, every setting (defaults filled in), as JSON."""
    print_json(get_policy(load_quality_policies(load_settings().resources_dir), name).model_dump(mode="json"))


@app.command("evaluate")
@command
def evaluate_(
    name: str = typer.Argument(..., help="The policy's name."),
    role: str = typer.Option(..., "--role", help="The agent role whose output schema the output must fit."),
    output: Path = typer.Option(..., "--output", help="JSON/YAML file holding the output to judge."),
    input_file: Path | None = typer.Option(None, "--input", help="JSON/YAML file holding the step's input."),
    context: list[Path] = typer.Option([], "--context", help="Text file(s) the output must be grounded in."),
    as_json: bool = typer.Option(False, "--json", help="Print the gate result as one JSON object."),
) -> None:
    """Run a policy's scorers (critic and verifier included, through the configured model) on an output.

    Exit code 0 when the gate passes, 1 when it fails."""
    from cognitionos_dagster.agents.runtime import AgentRuntime

    settings = load_settings()
    data = _read(output)
    if not isinstance(data, dict):
        fail(f"{output}: the output must be a mapping (a JSON object)")
    given = _read(input_file) if input_file else None
    if given is not None and not isinstance(given, dict):
        fail(f"{input_file}: the input must be a mapping (a JSON object)")
    texts = [p.read_text(encoding="utf-8") for p in context]
    result = AgentRuntime(settings).gate_output(role, data, name, given, context=texts)
    if as_json:
        print_json(result.model_dump(mode="json"))
    else:
        mark = "[green]passed[/green]" if result.passed else "[red]failed[/red]"
        console.print(f"gate {name} on {output} ({role}): {mark}  quality {result.quality_score:.2f}"
                      + (" (offline model)" if settings.offline else ""))
        for v in result.verdicts:
            state = {True: "pass", False: "FAIL", None: "n/a"}[v.passed]
            score = f"{v.score:.2f}" if v.score is not None else "-"
            console.print(f"  {v.scorer:<11} {state:<5} {score:>5}  {v.reason or ''}")
    if not result.passed:
        raise typer.Exit(1)



@app.command("ab-test")
@command
def ab_test(
    role: str = typer.Option(..., "--role", help="The agent role; its cases are in resources/eval/<role>.yaml."),
    version_a: str = typer.Option(..., "--a", help="Prompt version A (v1, v2, ... or latest)."),
    version_b: str = typer.Option(..., "--b", help="Prompt version B, compared against A."),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap resampling (same seed, same interval)."),
    resamples: int = typer.Option(2000, "--resamples", min=100, help="Bootstrap resamples."),
    record: bool = typer.Option(True, "--record/--no-record",
                                help="Keep the report and the calls in PostgreSQL (prompt_ab_tests, call_records)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as one JSON object."),
) -> None:
    """Compare two prompt versions of a role on its evaluation set, scored by the set's gate policy.

    A winner is named only when the 95% bootstrap interval of the mean difference excludes 0."""
    from cognitionos_dagster.agents.prompt_ab import prompt_ab_test
    from cognitionos_dagster.agents.runtime import AgentRuntime
    from cognitionos_dagster.db import migrate, server
    from cognitionos_dagster.db.connection import Database

    settings = load_settings()
    db = None
    if record:
        url = server.resolve(settings).app_url
        migrate.require_head(url)
        db = Database(url)
    report = prompt_ab_test(AgentRuntime(settings, db=db), role, version_a, version_b, db=db, seed=seed,
                            resamples=resamples)
    if as_json:
        print_json(report.model_dump(mode="json"))
        return
    table = Table(title=f"Prompt A/B test: {role}, policy {report.policy}, {len(report.pairs)} cases"
                  + (" (offline model)" if report.offline else ""))
    for column in ("version", "mean score", "pass rate", "wins", "win rate"):
        table.add_column(column)
    for side in (report.a, report.b):
        table.add_row(side.version, f"{side.mean_score:.3f}", f"{side.pass_rate:.0%}", str(side.wins),
                      f"{side.win_rate:.0%}")
    console.print(table)
    console.print(f"ties {report.ties}; mean difference {report.b.version} - {report.a.version}: "
                  f"{report.mean_difference:+.3f}, 95% interval [{report.ci_low:+.3f}, {report.ci_high:+.3f}]")
    console.print(f"winner: {report.winner}" if report.winner else
                  "no winner: the interval includes 0")
    console.print(f"calls recorded under run {report.run_id}" if record else "nothing recorded (--no-record)")
