"""The built-in tools every registry starts with."""

from __future__ import annotations

from cognitionos_dagster.tools.base import Tool
from cognitionos_dagster.tools.builtin.echo import EchoTool
from cognitionos_dagster.tools.builtin.health import HealthProbeTool
from cognitionos_dagster.tools.builtin.http_tool import HttpRequestTool
from cognitionos_dagster.tools.builtin.javascript_tool import ExecuteJavascriptTool
from cognitionos_dagster.tools.builtin.memory_lifecycle import MemoryLifecycleTool
from cognitionos_dagster.tools.builtin.memory_tools import RetrieveMemoryTool, SearchTool, StoreMemoryTool
from cognitionos_dagster.tools.builtin.python_tool import ExecutePythonTool


def builtin_tools() -> list[Tool]:
    return [
        ExecutePythonTool(), ExecuteJavascriptTool(), HttpRequestTool(),
        SearchTool(), RetrieveMemoryTool(), StoreMemoryTool(), HealthProbeTool(), EchoTool(),
        MemoryLifecycleTool(),
    ]


__all__ = [
    "EchoTool",
    "ExecuteJavascriptTool",
    "ExecutePythonTool",
    "HealthProbeTool",
    "HttpRequestTool",
    "MemoryLifecycleTool",
    "RetrieveMemoryTool",
    "SearchTool",
    "StoreMemoryTool",
    "builtin_tools",
]
