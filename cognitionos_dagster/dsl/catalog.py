"""The names a spec may use: agent roles, tools and quality-gate policies, with their input models.

The lead's code builds the real catalog from `agents/`, `tools/` and `quality/`; the DSL only
reads it, so it can check names and literal inputs at load time without importing the domain.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel

from cognitionos_dagster.dsl.models import RoleDefaults


@dataclass(frozen=True)
class Catalog:
    """Known names; a model of None means "exists, but its input schema is not checked at load time"."""

    agents: Mapping[str, type[BaseModel] | None] = field(default_factory=dict)
    tools: Mapping[str, type[BaseModel] | None] = field(default_factory=dict)
    policies: frozenset[str] = frozenset()
    agent_tools: Mapping[str, frozenset[str]] = field(default_factory=dict)  # role -> its allowed_tools
    allow_unknown: bool = False
    role_defaults: Mapping[str, RoleDefaults] = field(default_factory=dict)

    @classmethod
    def permissive(cls) -> Catalog:
        """Accepts any agent, tool and policy name (fuzz tests, benchmarks, syntax-only linting)."""
        return cls(allow_unknown=True)

    def has_agent(self, name: str) -> bool:
        return self.allow_unknown or name in self.agents

    def has_tool(self, name: str) -> bool:
        return self.allow_unknown or name in self.tools

    def has_policy(self, name: str) -> bool:
        return self.allow_unknown or name in self.policies

    def agent_may_use(self, role: str, tool: str) -> bool:
        """Whether the role's allowed_tools name the tool (a role the catalog does not list: yes)."""
        return self.allow_unknown or role not in self.agent_tools or tool in self.agent_tools[role]

    def agent_model(self, name: str) -> type[BaseModel] | None:
        return self.agents.get(name)

    def tool_model(self, name: str) -> type[BaseModel] | None:
        return self.tools.get(name)
