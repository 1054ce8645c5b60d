"""`cognos arch`: fail when an import points up the layer table (see archcheck)."""

from __future__ import annotations

from pathlib import Path

import typer

from cognitionos_dagster.archcheck import check_tree
from cognitionos_dagster.cli.output import command, console, err_console, print_json
from cognitionos_dagster.settings import PROJECT_ROOT


@command
def arch(
    root: Path = typer.Option(PROJECT_ROOT, help="Project folder holding cognitionos_dagster/ and resources/."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Check that imports point down: cli > defs > compiler > integrations > domain > dsl > db."""
    report = check_tree(root)
    if as_json:
        print_json(
            {
                "ok": report.ok,
                "modules": report.modules,
                "imports": report.imports,
                "violations": [v.to_dict() for v in report.violations],
            }
        )
    else:
        for violation in report.violations:
            console.print(str(violation), markup=False, soft_wrap=True)
        if report.ok:
            console.print(f"architecture ok: {report.modules} modules, {report.imports} imports checked")
        else:
            err_console.print(f"{len(report.violations)} architecture violation(s)")
    if not report.ok:
        raise typer.Exit(1)
