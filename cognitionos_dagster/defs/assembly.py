"""Builds the `Definitions` of the code location from each domain's contribution.

Called lazily by `cognitionos_dagster.definitions` when Dagster loads the location; each domain
(platform checks, workflows, memory, quality) hands in its own small `Definitions`, merged here.
"""

from __future__ import annotations

import dagster as dg

from cognitionos_dagster.defs.memory import memory_definitions
from cognitionos_dagster.defs.platform import platform_health
from cognitionos_dagster.defs.quality import quality_definitions
from cognitionos_dagster.defs.workflows import workflow_definitions
from cognitionos_dagster.integrations.database import DatabaseResource
from cognitionos_dagster.settings import load_settings


def build_definitions() -> dg.Definitions:
    settings = load_settings()
    platform = dg.Definitions(jobs=[platform_health], resources={"db": DatabaseResource()})
    return dg.Definitions.merge(platform, workflow_definitions(settings), memory_definitions(), quality_definitions())
