"""The starting points `cognos new` writes: each passes `cognos lint` and runs offline as written."""

from __future__ import annotations

WORKFLOW = """\
# {name}: a starting point written by `cognos new workflow`. Reference: docs/workflows.md.
id: {name}
version: 0.1.0
name: {title}
description: What {name} does, in one sentence.
tags: {{team: platform}}
inputs:
  topic:
    type: string
    default: the release notes
    description: What the steps work on.
steps:
  - id: gather
    tool: execute_python
    input: {{code: "print('facts about ' + {{{{ inputs.topic | tojson }}}})"}}
  - id: summarize
    agent: summarizer
    depends_on: [gather]
    input:
      content: "{{{{ steps.gather.output.stdout }}}}"
      style: bullet points
outputs:
  summary: "{{{{ steps.summarize.output.summary }}}}"
"""

AGENT = """\
# {name}: a custom agent role written by `cognos new agent`. Reference: docs/agents.md.
role: {name}
description: What the {name} role does, in one sentence.
model: default
temperature: 0.2
allowed_tools: []
failure_strategy: retry
max_retries: 2
retry_delay_seconds: 1
confidence_threshold: 0.6
prompt_version: v1
input_schema:
  type: object
  properties:
    text: {{type: string, minLength: 1, description: The text to work on.}}
  required: [text]
output_schema:
  type: object
  properties:
    answer: {{type: string}}
    confidence: {{type: number, minimum: 0, maximum: 1}}
  required: [answer, confidence]
"""

PROMPT = """\
You are the {name} agent. {{{{ description }}}}

Answer with JSON that matches this schema:
{{{{ output_schema }}}}
"""

POLICY = """\
# {name}: a quality-gate policy written by `cognos new policy`. Name it in a step's
# `quality_gate: {name}`. Reference: docs/agents.md (Quality gates).
name: {name}
description: What this gate demands, in one sentence.
min_quality_score: 0.6
min_confidence_score: 0.6
require_self_critique: false
require_cross_verification: false
blocking: false
"""

TOOL = '''\
"""{name}: a tool written by `cognos new tool`. Reference: docs/tools.md (Writing a tool)."""

from __future__ import annotations

from pydantic import Field

from cognitionos_dagster.tools import Tool, ToolContext, ToolInput, ToolOutput, ToolRegistry, default_registry


class {cls}Input(ToolInput):
    text: str = Field(min_length=1, description="The text to work on.")


class {cls}Output(ToolOutput):
    words: int = 0  # every field has a default: a failed run returns this type with success=False


class {cls}(Tool):
    name = "{name}"
    description = "Count the words of a text (replace with what {name} does)."
    input_model = {cls}Input
    output_model = {cls}Output
    permissions_required: list[str] = []

    def run(self, data: {cls}Input, ctx: ToolContext) -> {cls}Output:
        n = len(data.text.split())
        return {cls}Output(success=True, words=n, result=n)


def register(registry: ToolRegistry | None = None) -> ToolRegistry:
    """Add the tool to a registry (the default one unless given)."""
    registry = registry or default_registry()
    registry.register({cls}())
    return registry
'''

TOOL_TEST = '''\
"""The generated {name} tool through the registry, as a workflow step would call it."""

from __future__ import annotations

import pytest
from {module} import register

from cognitionos_dagster.errors import CognitionOSError
from cognitionos_dagster.settings import load_settings
from cognitionos_dagster.tools import ToolContext, default_registry


def test_{name}_counts_words() -> None:
    registry = register(default_registry())
    out = registry.run("{name}", {{"text": "three little words"}}, ToolContext(settings=load_settings()))
    assert out.success and out.result == 3


def test_{name}_refuses_bad_input() -> None:
    registry = register(default_registry())
    with pytest.raises(CognitionOSError, match="text"):  # input is checked before the tool runs
        registry.run("{name}", {{"text": ""}}, ToolContext(settings=load_settings()))
'''
