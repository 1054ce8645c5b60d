"""The process sandbox behind `execute_python`: namespaces, Landlock, seccomp, rlimits, a fresh uid."""

from cognitionos_dagster.tools.sandbox.config import SandboxConfig
from cognitionos_dagster.tools.sandbox.runner import PythonSandbox, SandboxResult

__all__ = ["PythonSandbox", "SandboxConfig", "SandboxResult"]
