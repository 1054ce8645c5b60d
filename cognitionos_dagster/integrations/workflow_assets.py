"""The IO manager of workflow assets: values in PostgreSQL, so any machine of a deployment reads them."""

from __future__ import annotations

from typing import Any

import dagster as dg

from cognitionos_dagster.db.repositories.workflow_assets import WorkflowAssetRepository
from cognitionos_dagster.integrations.database import DatabaseResource

IO_MANAGER_KEY = "workflow_asset_io_manager"


class WorkflowAssetIOManager(dg.ConfigurableIOManager):
    """Writes one `workflow_asset_values` row per materialisation; reads the newest usable one."""

    db: DatabaseResource

    def repository(self) -> WorkflowAssetRepository:
        return WorkflowAssetRepository(self.db.database())

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        meta = context.definition_metadata or {}
        self.repository().store(
            context.asset_key.to_user_string(), obj, run_id=context.run_id,
            workflow_id=str(meta.get("workflow_id", "")), workflow_version=str(meta.get("workflow_version", "")),
            spec_sha256=str(meta.get("spec_sha256") or "") or None,
        )

    def load_input(self, context: dg.InputContext) -> Any:
        return self.repository().read_for_consumer(context.asset_key.to_user_string())
