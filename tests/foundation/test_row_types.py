"""The repositories' row types name exactly the columns `SELECT *` returns, so a migration that
adds or drops a column fails here until the row type says so too."""

from __future__ import annotations

from typing import Any

import pytest

from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.db.repositories.calls import CallRow
from cognitionos_dagster.db.repositories.escalations import EscalationRow
from cognitionos_dagster.db.repositories.executions import ExecutionRow, StepRow
from cognitionos_dagster.db.repositories.workflow_assets import AssetValueRow
from cognitionos_dagster.db.repositories.workflows import WorkflowDefinitionRow, WorkflowRegistry, WorkflowRow


@pytest.mark.parametrize(("row_type", "table"), [
    (CallRow, "call_records"),
    (EscalationRow, "escalations"),
    (ExecutionRow, "workflow_executions"),
    (StepRow, "workflow_execution_steps"),
    (AssetValueRow, "workflow_asset_values"),
])
def test_row_type_matches_the_table(db: Database, row_type: Any, table: str) -> None:
    columns = db.fetch_all("SELECT column_name FROM information_schema.columns WHERE table_name = %s", (table,))
    assert columns, f"no table {table}"
    assert set(row_type.__annotations__) == {c["column_name"] for c in columns}


def test_registry_rows_name_only_columns_of_the_table(db: Database) -> None:
    """The registry selects exactly its row types' columns (they are the select lists), and each exists."""
    columns = {c["column_name"] for c in db.fetch_all(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'workflows'")}
    assert set(WorkflowDefinitionRow.__annotations__) <= columns
    assert columns - set(WorkflowDefinitionRow.__annotations__) == {"created_by"}  # the owner is not listed
    registry = WorkflowRegistry(db)
    db.execute("INSERT INTO workflows (id, version, name, definition, spec_sha256) VALUES "
               "('typed', '1.0.0', 'Typed', '{}'::jsonb, repeat('a', 64))")
    listed = registry.list()
    assert listed and all(set(row) == set(WorkflowRow.__annotations__) for row in listed)
    got = registry.get("typed")
    assert got is not None and set(got) == set(WorkflowDefinitionRow.__annotations__)
