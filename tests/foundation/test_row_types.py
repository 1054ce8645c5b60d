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
