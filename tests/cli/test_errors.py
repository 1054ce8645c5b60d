"""Errors point at the right thing: the workflow's own file, the known names, no `<spec>:`
prefix, a missing resources folder, and tables that do not fold off a terminal."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console
from rich.table import Table

from cognitionos_dagster.cli.output import _width
from tests.cli.conftest import cognos

Writer = Callable[[str, str], Path]
CALLER = """
    id: caller
    version: 1.0.0
    steps:
      - id: check
        workflow: health_check
"""


def test_run_names_the_workflows_own_broken_file(write_spec: Writer) -> None:
    write_spec("caller", CALLER)
    broken = write_spec("health_check", "id: health_check\nversion: 1.0.0\nsteps: [\n")
    code, _, err = cognos("run", "health_check")
    assert code == 1
    assert "no workflow `health_check`" in err
    assert f"left out: {broken}" in err and "caller.yaml" not in err


def test_graph_of_an_unknown_workflow_names_the_known_ones(write_spec: Writer) -> None:
    write_spec("caller", CALLER.replace("workflow: health_check", "tool: execute_python\n        input: {code: x}"))
    code, _, err = cognos("graph", "nope")
    assert code == 1
    assert "no workflow `nope`" in err and "caller@1.0.0" in err and "sub-workflow" not in err


def test_errors_without_a_file_have_no_placeholder_prefix(write_spec: Writer) -> None:
    write_spec("caller", CALLER.replace("workflow: health_check", "tool: execute_python\n        input: {code: x}"))
    code, _, err = cognos("run", "caller", "--input", "oops")
    assert code == 1 and "<spec>" not in err and "write it as name=value" in err


def test_agents_without_the_resources_folder_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COGNITIONOS_RESOURCES_DIR", str(tmp_path / "missing"))
    code, out, err = cognos("agents")
    assert code == 1 and "missing" in err and "COGNITIONOS_RESOURCES_DIR" in err and "role" not in out


def test_tables_do_not_fold_off_a_terminal() -> None:
    piped = io.StringIO()
    table = Table()
    table.add_column("model (fallbacks)")
    table.add_column("tools")
    table.add_row("gpt-4o-mini (gpt-4o)", "execute_python, execute_javascript, http_request " * 2)
    Console(file=piped, width=_width(piped)).print(table)
    assert "gpt-4o-mini (gpt-4o)" in piped.getvalue()
    assert any(line.count("http_request") == 2 for line in piped.getvalue().splitlines())


def test_every_error_shows_its_hint_the_same_way() -> None:
    from cognitionos_dagster.errors import ConfigError, SpecError

    spec = SpecError("unknown key `stpes`", file="a.yaml", line=3, column=1, hint="did you mean `steps`?")
    config = ConfigError("COGNITIONOS_HOME is not writable", hint="point it at a folder you own")
    assert str(spec) == "a.yaml:3:1: unknown key `stpes`\n  hint: did you mean `steps`?"
    assert str(config) == "COGNITIONOS_HOME is not writable\n  hint: point it at a folder you own"
    assert str(SpecError("no hint", file="a.yaml")) == "a.yaml: no hint"
