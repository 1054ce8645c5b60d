"""Tool calls in `call_records`: written after every call, served back in a deterministic replay.

The replay index of a call is the number of *successful* calls with the same request hash
the step made before it, and only successful calls are served: a replayed step gets the
answers that let the original step succeed, in the order it got them.
"""

from __future__ import annotations

from typing import Any

from cognitionos_dagster.db.repositories.calls import CallRecord, request_hash
from cognitionos_dagster.errors import ReplayError
from cognitionos_dagster.tools.base import Tool, ToolOutput
from cognitionos_dagster.tools.context import ToolContext


def request_of(tool: Tool, data: dict[str, Any]) -> tuple[dict[str, Any], str]:
    request = {"tool": tool.name, "input": data}
    return request, request_hash(request)


def replayed(tool: Tool, req_hash: str, ctx: ToolContext) -> ToolOutput:
    """The recorded output of this call in the replayed run; ReplayError when there is none."""
    index = ctx.call_counts.get((tool.name, req_hash), 0)
    where = f"run {ctx.replay_run_id}, step {ctx.step_id or '<none>'}, tool '{tool.name}', call #{index + 1}"
    if ctx.recorder is None or not ctx.step_id or not ctx.replay_run_id:
        raise ReplayError(f"cannot replay {where}: no call recorder or step id in the tool context",
                          hint="deterministic replay needs the database resource; run `cognos db up`")
    response = ctx.recorder.find(ctx.replay_run_id, ctx.step_id, "tool", req_hash, index,
                                 any_status=ctx.replay_any_outcome)
    if response is None:
        kind = "" if ctx.replay_any_outcome else "successful "
        raise ReplayError(f"no recorded {kind}call for {where} with this input",
                          hint="the original run never made this call successfully; replay without --deterministic")
    return tool.output_model.model_validate(response)


def record(
    tool: Tool, request: dict[str, Any], req_hash: str, output: ToolOutput, ctx: ToolContext, *,
    latency_ms: float, raised: bool,
) -> None:
    """Write the call (when the context has a recorder) and advance the replay index on success."""
    index = ctx.call_counts.get((tool.name, req_hash), 0)
    if output.success:
        ctx.call_counts[(tool.name, req_hash)] = index + 1
    if ctx.recorder is None:
        return
    status = "ok" if output.success else "error" if raised else "failed"
    ctx.recorder.record(CallRecord(
        kind="tool", name=tool.name, request=request, response=output.model_dump(mode="json"),
        run_id=ctx.run_id, step_id=ctx.step_id, sequence=index, status=status,
        error=None if output.success else output.error, latency_ms=latency_ms,
    ))
