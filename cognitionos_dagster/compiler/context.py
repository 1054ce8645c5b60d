"""Turning Dagster's op context and upstream results into the expression scope of a step."""

from typing import Any

import dagster as dg

from cognitionos_dagster.compiler.names import ASSET_GRAPH_SUFFIX, INPUTS_NODE, TAG_REPLAY_OF, step_path
from cognitionos_dagster.dsl.models import WorkflowSpec

SKIP_MARKER = "__cognitionos_skipped__"
"""The inputs value a sub-workflow receives when its parent step's `when` was false."""


def is_skipped_workflow(inputs_value: Any) -> bool:
    return isinstance(inputs_value, dict) and inputs_value.get(SKIP_MARKER) is True


def build_scope(context: dg.OpExecutionContext, spec: WorkflowSpec, upstream: dict[str, Any]) -> dict[str, Any]:
    steps = {
        name: {"output": value.get("output"), "status": value.get("status")}
        for name, value in upstream.items()
        if name != INPUTS_NODE and isinstance(value, dict)
    }
    return {
        "inputs": upstream.get(INPUTS_NODE) or {},
        "steps": steps,
        "run": {"id": context.run_id, "workflow_id": spec.id, "workflow_version": spec.version},
    }


def record_path(context: dg.OpExecutionContext) -> str:
    """`plan` for a top-level step, `rollout.check_db` for a step inside a sub-workflow."""
    return step_path(str(context.op_handle))


def parent_path(context: dg.OpExecutionContext) -> str | None:
    parent = context.op_handle.parent
    return None if parent is None or str(parent).endswith(ASSET_GRAPH_SUFFIX) else step_path(str(parent))


def replay_source(context: dg.OpExecutionContext) -> str | None:
    return context.run.tags.get(TAG_REPLAY_OF)


def preview(value: Any, limit: int = 2000) -> dg.MetadataValue:
    import json

    text = json.dumps(value, indent=2, default=str)
    if len(text) > limit:
        text = text[:limit] + "\n…"
    return dg.MetadataValue.md(f"```json\n{text}\n```")
