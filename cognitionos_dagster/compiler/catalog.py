"""The names a spec may use — agent roles, tools, quality policies — gathered from the domain,
so the DSL can check them at load time without importing agents or tools itself."""

from __future__ import annotations

from cognitionos_dagster.dsl.catalog import Catalog
from cognitionos_dagster.dsl.models import RoleDefaults
from cognitionos_dagster.settings import Settings


def build_catalog(settings: Settings) -> Catalog:
    from cognitionos_dagster.agents.catalog import load_agent_catalog
    from cognitionos_dagster.quality.policies import load_quality_policies
    from cognitionos_dagster.tools.registry import default_registry

    agents = load_agent_catalog(settings.resources_dir)
    tools = default_registry()
    return Catalog(
        agents={role: agents.get(role).input_model for role in agents.names()},
        tools={name: tools.get(name).input_model for name in tools.names()},
        policies=frozenset(load_quality_policies(settings.resources_dir)),
        role_defaults={d.role: RoleDefaults.model_validate(d.failure_defaults(), strict=False)
                       for d in agents.all()},
        agent_tools={role: frozenset(agents.get(role).allowed_tools) for role in agents.names()},
    )
