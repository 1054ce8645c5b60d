"""Names and tags the compiled world uses, in one place so the CLI, sensors and tests agree."""

from __future__ import annotations

import hashlib
import json
from typing import Any

TAG_WORKFLOW_ID = "cognitionos/workflow_id"
TAG_WORKFLOW_VERSION = "cognitionos/workflow_version"
TAG_SPEC_SHA256 = "cognitionos/spec_sha256"
TAG_REPLAY_OF = "cognitionos/replay_of"
"""Set on a deterministic replay: recorded LLM/tool calls of this run are served instead of new calls."""
TAG_ESCALATIONS = "cognitionos/escalations"
TAG_SOURCE = "cognitionos/source"
TAG_OWNER_PID = "cognitionos/owner_pid"
TAG_OWNER_HOST = "cognitionos/owner_host"
"""Set by `cognos run/replay`: the process that executes the run in itself, so a replay can tell it is gone."""

ASSET_GRAPH_SUFFIX = "__assets"
"""The graph node that holds a workflow in an asset job (`research_notes__assets`); step paths drop it."""
ASSETS_NODE = "_assets"
UPSTREAM_PREFIX = "asset__"
"""`_inputs` waits on `asset__<input>` (Nothing) for each `from_asset` input: the edge in the asset graph."""

INPUTS_NODE = "_inputs"
OUTPUTS_NODE = "_outputs"
CALL_NODE = "_call"
RESULT = "result"


def step_code_version(step_dump: dict[str, Any]) -> str:
    """Content hash of a step: changes exactly when what the step does changes."""
    text = json.dumps(step_dump, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def nested_prefix(job_name: str, *, nested: bool) -> str:
    """Definition-name prefix of a workflow's ops: Dagster wants definition names unique per repository.
    A workflow's ops differ when it runs as a sub-workflow (inputs arrive from the parent step)."""
    return f"{job_name}__sub__" if nested else f"{job_name}__"


def step_path(handle_or_key: str) -> str:
    """A step's path as the spec names it: `plan`, `rollout.check_db`, whether or not the job is an asset job."""
    head, sep, rest = handle_or_key.partition(".")
    return rest if sep and head.endswith(ASSET_GRAPH_SUFFIX) else handle_or_key
