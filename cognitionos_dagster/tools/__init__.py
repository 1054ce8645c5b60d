"""Tools: the base class, the registry with permission checks, recording and replay, and the
sandboxed built-ins (`execute_python`, `execute_javascript`, `http_request`, `search`,
`retrieve_memory`, `store_memory`)."""

from cognitionos_dagster.tools.base import Tool, ToolInput, ToolOutput
from cognitionos_dagster.tools.context import ToolContext
from cognitionos_dagster.tools.registry import ToolRegistry, default_registry

__all__ = ["Tool", "ToolContext", "ToolInput", "ToolOutput", "ToolRegistry", "default_registry"]
