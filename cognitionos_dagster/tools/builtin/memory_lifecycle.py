"""`memory_lifecycle`: one lifecycle pass (expire, compress, archive, gc) as a workflow step.

The `memory_gc` workflow previews with `dry_run: true`, then applies; the report is the same
JSON the `memories` asset and `cognos memory gc --json` show.
"""

from __future__ import annotations

from cognitionos_dagster.db import server
from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.memory.lifecycle import apply_policies
from cognitionos_dagster.memory.lifecycle_steps import STEPS
from cognitionos_dagster.tools.base import Tool, ToolInput, ToolOutput
from cognitionos_dagster.tools.context import ToolContext


class MemoryLifecycleInput(ToolInput):
    namespace: str | None = None
    dry_run: bool = False
    steps: list[str] = list(STEPS)


class MemoryLifecycleTool(Tool):
    name = "memory_lifecycle"
    description = "Applies the lifecycle policies of one namespace (or all): expire, compress, archive, gc."
    input_model = MemoryLifecycleInput
    output_model = ToolOutput
    permissions_required = ["memory_admin"]

    def run(self, data: ToolInput, ctx: ToolContext) -> ToolOutput:
        assert isinstance(data, MemoryLifecycleInput)
        db = Database(server.resolve(ctx.settings).app_url)
        report = apply_policies(db, namespace=data.namespace or None, dry_run=data.dry_run, steps=data.steps)
        result = report.model_dump(mode="json")
        result["changed"] = report.changed
        return ToolOutput(success=True, result=result)
