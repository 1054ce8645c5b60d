"""The workflow registry on a real database, and the shipped JSON Schema."""

from __future__ import annotations

import json

import pytest

from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.db.repositories.workflows import WorkflowRegistry
from cognitionos_dagster.dsl import Catalog, WorkflowSpec, load_spec_text
from cognitionos_dagster.dsl.schema import schema_text, spec_json_schema
from cognitionos_dagster.errors import SpecError
from cognitionos_dagster.settings import PROJECT_ROOT

from .catalog_support import GOLDEN

TEXT = "id: hello\nversion: {v}\nschedule: '*/5 * * * *'\nsteps:\n  - {{id: a, agent: custom, input: {{n: {n}}}}}\n"


def _spec(version: str = "1.0.0", n: int = 1) -> WorkflowSpec:
    return load_spec_text(TEXT.format(v=version, n=n), path=f"hello_{version}.yaml", catalog=Catalog.permissive())


def test_sync_registers_once_and_refuses_changed_content(db: Database) -> None:
    registry = WorkflowRegistry(db)
    assert registry.sync(_spec()) == "registered"
    assert registry.sync(_spec()) == "unchanged"
    with pytest.raises(SpecError) as info:
        registry.sync(_spec(n=2))
    assert "already registered with different content" in str(info.value) and "bump `version`" in str(info.value)
    assert info.value.file == "hello_1.0.0.yaml" and info.value.line == 1
    row = registry.get("hello", "1.0.0")
    assert row is not None and row["definition"]["steps"][0]["input"] == {"n": 1}


def test_list_and_get_order_versions_by_semver(db: Database) -> None:
    registry = WorkflowRegistry(db)
    for version in ["1.0.0", "1.10.0", "1.9.0", "2.0.0-rc.1"]:
        registry.sync(_spec(version))
    other = load_spec_text((GOLDEN / "deploy_web_app.yaml").read_text(), path="d.yaml", catalog=Catalog.permissive())
    registry.sync(other)
    assert [(r["id"], r["version"]) for r in registry.list()] == [("deploy_web_app", "1.2.0"), ("hello", "2.0.0-rc.1")]
    assert [r["version"] for r in registry.list(versions=True) if r["id"] == "hello"] == [
        "2.0.0-rc.1", "1.10.0", "1.9.0", "1.0.0"
    ]
    newest = registry.get("hello")
    assert newest is not None and newest["version"] == "2.0.0-rc.1" and newest["schedule"] == "*/5 * * * *"
    assert registry.get("hello", "9.9.9") is None and registry.get("nobody") is None
    stored = registry.get("deploy_web_app", "1.2.0")
    assert stored is not None and WorkflowSpec.model_validate(stored["definition"]) == other


def test_shipped_schema_is_current() -> None:
    shipped = (PROJECT_ROOT / "schemas" / "workflow.schema.json").read_text()
    hint = "regenerate: python -m cognitionos_dagster.dsl.schema > schemas/workflow.schema.json"
    assert shipped == schema_text(), hint


def test_schema_describes_user_keys_only() -> None:
    schema = spec_json_schema()
    assert set(schema["required"]) == {"id", "version", "steps"}
    assert {"position", "source_path", "sha256"}.isdisjoint(schema["properties"])
    step = schema["$defs"]["StepSpec"]
    assert "position" not in step["properties"] and step["additionalProperties"] is False
    assert "Position" not in json.dumps(schema)
