"""Loading the code location: a bad or re-versioned spec is left out and shown, good ones still load."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import dagster as dg
from typer.testing import CliRunner

from cognitionos_dagster.cli.main import app
from cognitionos_dagster.defs.workflows import workflow_definitions
from cognitionos_dagster.settings import load_settings

Writer = Callable[[str, str], Path]

GOOD = """
    id: good
    version: 1.0.0
    steps:
      - id: a
        tool: echo
        input: {value: 1}
"""


def _asset_description(defs: dg.Definitions) -> str:
    asset = defs.get_assets_def("workflow_specs")
    return asset.descriptions_by_key[dg.AssetKey("workflow_specs")]


def test_bad_file_is_left_out_and_visible(write_spec: Writer, dagster_instance: dg.DagsterInstance) -> None:
    write_spec("good", GOOD)
    write_spec("bad", """
        id: bad
        version: 1.0.0
        steps:
          - id: a
            tool: no_such_tool
    """)
    defs = workflow_definitions(load_settings())
    jobs = {j.name for j in defs.get_repository_def().get_all_jobs()}
    assert {"good", "good__v1_0_0"} <= jobs and not any(j.startswith("bad") for j in jobs)
    description = _asset_description(defs)
    assert "bad.yaml:5:" in description and "no_such_tool" in description

    result = dg.materialize([defs.get_assets_def("workflow_specs")], instance=dagster_instance,
                            resources=defs.resources, selection=None)
    checks = result.get_asset_check_evaluations()
    assert len(checks) == 1 and not checks[0].passed


def test_changed_content_under_registered_version_is_refused_at_load(write_spec: Writer) -> None:
    path = write_spec("good", GOOD)
    first = workflow_definitions(load_settings())
    assert "good" in {j.name for j in first.get_repository_def().get_all_jobs()}

    path.write_text(path.read_text().replace("value: 1", "value: 2"))
    second = workflow_definitions(load_settings())
    assert "good" not in {j.name for j in second.get_repository_def().get_all_jobs()}
    description = _asset_description(second)
    assert "already registered" in description and "bump" in description


def test_schema_command_prints_the_spec_schema() -> None:
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert "steps" in schema["properties"] and "id" in schema["required"]


def test_a_parent_of_a_refused_child_is_left_out_too(write_spec: Writer) -> None:
    child = write_spec("child", GOOD.replace("id: good", "id: child"))
    write_spec("parent", """
        id: parent
        version: 1.0.0
        steps:
          - id: call
            workflow: child@1.0.0
    """)
    write_spec("other", GOOD.replace("id: good", "id: other"))
    assert "parent" in {j.name for j in workflow_definitions(load_settings()).get_repository_def().get_all_jobs()}

    child.write_text(child.read_text().replace("value: 1", "value: 2"))  # same version, new content
    defs = workflow_definitions(load_settings())  # must still load
    jobs = {j.name for j in defs.get_repository_def().get_all_jobs()}
    assert "other" in jobs and "child" not in jobs and "parent" not in jobs
    description = _asset_description(defs)
    assert "parent.yaml:" in description and "child@1.0.0" in description
