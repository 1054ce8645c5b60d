"""Values of workflow assets: one row per materialisation, the newest one is what consumers read."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, TypedDict, cast

from psycopg.types.json import Jsonb

from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.errors import AssetError


class AssetValueRow(TypedDict):
    """A row of `workflow_asset_values` (migration 0014), as `SELECT *` returns it."""

    id: int
    asset_key: str
    run_id: str
    workflow_id: str
    workflow_version: str
    spec_sha256: str | None
    value: Any
    size_bytes: int
    failed_check: str | None
    failure: str | None
    created_at: datetime


def encoded_size(value: Any) -> int:
    return len(json.dumps(value, default=str).encode())


class WorkflowAssetRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def store(self, key: str, value: Any, *, run_id: str, workflow_id: str, workflow_version: str,
              spec_sha256: str | None) -> None:
        self.db.execute(
            """
            INSERT INTO workflow_asset_values (asset_key, run_id, workflow_id, workflow_version, spec_sha256, value,
                size_bytes)
            VALUES (%s, %s, %s, %s, %s, %s, %s)
            """,
            (key, run_id, workflow_id, workflow_version, spec_sha256,
             Jsonb(json.loads(json.dumps(value, default=str))), encoded_size(value)),
        )

    def mark_failed(self, key: str, run_id: str, check: str, failure: str) -> None:
        """The value stays (visible), but consumers refuse it until a later run writes a good one."""
        self.db.execute(
            """
            UPDATE workflow_asset_values SET failed_check = %s, failure = %s
            WHERE id = (SELECT max(id) FROM workflow_asset_values WHERE asset_key = %s AND run_id = %s)
            """,
            (check, failure, key, run_id),
        )

    def latest(self, key: str) -> AssetValueRow | None:
        return cast("AssetValueRow | None", self.db.fetch_one(  # SELECT * of this table
            "SELECT * FROM workflow_asset_values WHERE asset_key = %s ORDER BY id DESC LIMIT 1", (key,)
        ))

    def read_for_consumer(self, key: str) -> Any:
        """The newest value; raises AssetError saying what to run when there is none or it failed a check."""
        row = self.latest(key)
        workflow = key.split("/")[0]
        if row is None:
            raise AssetError(f"asset `{key}` has never been materialised",
                             hint=f"run `cognos run {workflow}` (or materialise {key} in the UI) first")
        if row["failed_check"]:
            raise AssetError(
                f"asset `{key}` is not usable: its blocking check `{row['failed_check']}` failed in run "
                f"{row['run_id']} ({row['failure']})",
                hint=f"fix what the check reports and run `{workflow}` again",
            )
        return row["value"]
