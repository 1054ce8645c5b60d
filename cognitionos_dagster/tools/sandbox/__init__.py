"""The process sandbox behind `execute_python`: namespaces, Landlock, seccomp, rlimits, a fresh uid."""

from cognitionos_dagster.tools.sandbox.config import SandboxConfig
from cognitionos_dagster.tools.sandbox.runner import Program, PythonSandbox, SandboxResult

__all__ = ["Program", "PythonSandbox", "SandboxConfig", "SandboxResult"]
