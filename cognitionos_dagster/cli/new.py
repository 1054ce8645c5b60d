"""`cognos new workflow|agent|tool|policy NAME`: write a working starting point.

Each kind goes to its configured folder unless `--dir` says otherwise; nothing existing is
overwritten without `--force`; names follow the same id rule as the specs.
"""

from __future__ import annotations

from pathlib import Path

import typer

from cognitionos_dagster.cli import templates
from cognitionos_dagster.cli.output import command, console
from cognitionos_dagster.dsl import formats
from cognitionos_dagster.errors import ConfigError
from cognitionos_dagster.settings import load_settings

app = typer.Typer(help="Write a starting point: a workflow, an agent role, a tool or a quality policy.",
                  no_args_is_help=True)
DirOption = typer.Option(None, "--dir", help="Where to write (default: the configured folder).")
ForceOption = typer.Option(False, "--force", help="Overwrite files that exist.")


def _checked(name: str, what: str) -> str:
    try:
        return formats.check_identifier(name, what)
    except ValueError as exc:
        raise ConfigError(str(exc), hint="e.g. `cognos new workflow nightly_digest`") from None


def _write(files: dict[Path, str], force: bool) -> None:
    taken = [p for p in files if p.exists()]
    if taken and not force:
        raise ConfigError(f"{taken[0]} exists; nothing was written", hint="pick another name, or pass --force")
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        console.print(f"wrote {path}", markup=False, highlight=False)


@app.command()
@command
def workflow(name: str, directory: Path | None = DirOption, force: bool = ForceOption) -> None:
    """A spec with a tool step and an agent step; `cognos run NAME` runs it offline."""
    name = _checked(name, "workflow id")
    folder = directory or load_settings().workflow_specs
    title = name.replace("_", " ").capitalize()
    _write({folder / f"{name}.yaml": templates.WORKFLOW.format(name=name, title=title)}, force)


@app.command()
@command
def agent(name: str, directory: Path | None = typer.Option(
        None, "--dir", help="The resources folder to write into (default: COGNITIONOS_RESOURCES_DIR)."),
          force: bool = ForceOption) -> None:
    """A custom role with inline input/output JSON Schemas and its prompt v1."""
    name = _checked(name, "agent role")
    root = directory or load_settings().resources_dir
    _write({root / "agents" / f"{name}.yaml": templates.AGENT.format(name=name),
            root / "prompts" / name / "v1.md": templates.PROMPT.format(name=name)}, force)


@app.command()
@command
def policy(name: str, directory: Path | None = typer.Option(
        None, "--dir", help="The resources folder to write into (default: COGNITIONOS_RESOURCES_DIR)."),
           force: bool = ForceOption) -> None:
    """A quality-gate policy for `quality_gate: NAME`."""
    name = _checked(name, "policy name")
    root = directory or load_settings().resources_dir
    _write({root / "policies" / "quality" / f"{name}.yaml": templates.POLICY.format(name=name)}, force)


@app.command()
@command
def tool(name: str, directory: Path = typer.Option(Path("."), "--dir", help="Where the module and its test go."),
         force: bool = ForceOption) -> None:
    """A tool module (input/output models, `register()`) and a test that runs it through the registry."""
    name = _checked(name, "tool name")
    cls = "".join(part.capitalize() for part in name.split("_"))
    _write({directory / f"{name}.py": templates.TOOL.format(name=name, cls=cls),
            directory / f"test_{name}.py": templates.TOOL_TEST.format(name=name, module=name)}, force)
