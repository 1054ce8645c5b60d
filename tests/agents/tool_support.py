"""A role that uses tools, and small tools whose behaviour a test can see (concurrency, runs)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from cognitionos_dagster.tools import Tool, ToolContext, ToolInput, ToolOutput
from cognitionos_dagster.tools.builtin import EchoTool, ExecutePythonTool, StoreMemoryTool
from cognitionos_dagster.tools.registry import ToolRegistry

TOOLBOT = """\
role: toolbot
description: Answers a task with the help of tools.
allowed_tools: [echo, add, meet, busy, execute_python]
max_tool_rounds: {rounds}
max_parallel_tools: {parallel}
confidence_threshold: 0
max_reasks: 0
input_schema:
  type: object
  properties: {{task: {{type: string}}}}
  required: [task]
output_schema:
  type: object
  properties:
    answer: {{type: string}}
    tools_used: {{type: array, items: {{type: string}}}}
  required: [answer, tools_used]
"""


def add_toolbot(resources: Path, *, rounds: int = 3, parallel: int = 2) -> None:
    (resources / "agents" / "toolbot.yaml").write_text(TOOLBOT.format(rounds=rounds, parallel=parallel))
    (resources / "prompts" / "toolbot").mkdir(exist_ok=True)
    (resources / "prompts" / "toolbot" / "v1.md").write_text("Do this: {{ input.task }}\n{{ output_schema }}\n")


class AddInput(ToolInput):
    a: int
    b: int


class CountingAdd(Tool):
    name = "add"
    description = "Adds two integers; counts how often it really ran."
    input_model = AddInput
    output_model = ToolOutput

    def __init__(self) -> None:
        self.calls = 0

    def run(self, data: ToolInput, ctx: ToolContext) -> ToolOutput:
        assert isinstance(data, AddInput)
        self.calls += 1
        return ToolOutput(success=True, result=data.a + data.b)


class Meet(Tool):
    """Succeeds only when `parties` calls are inside `run` at the same time (a barrier)."""

    name = "meet"
    description = "Waits for the other calls of its answer."
    input_model = ToolInput
    output_model = ToolOutput

    def __init__(self, parties: int = 2) -> None:
        self.barrier = threading.Barrier(parties, timeout=5)

    def run(self, data: ToolInput, ctx: ToolContext) -> ToolOutput:
        self.barrier.wait()
        return ToolOutput(success=True, result="met")


class Busy(Tool):
    """Sleeps a moment and keeps the highest number of calls that were running at once."""

    name = "busy"
    description = "Sleeps 0.2 s."
    input_model = ToolInput
    output_model = ToolOutput

    def __init__(self) -> None:
        self.running = 0
        self.most = 0
        self.lock = threading.Lock()

    def run(self, data: ToolInput, ctx: ToolContext) -> ToolOutput:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(0.2)
        with self.lock:
            self.running -= 1
        return ToolOutput(success=True, result="done")


def registry_with(*extra: Tool) -> ToolRegistry:
    return ToolRegistry([EchoTool(), ExecutePythonTool(), StoreMemoryTool(), *extra])
