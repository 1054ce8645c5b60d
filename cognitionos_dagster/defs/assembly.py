"""Builds the `Definitions` of the code location from each domain's contribution.

Called lazily by `cognitionos_dagster.definitions` when Dagster loads the location; each domain
(platform checks, workflows, memory, quality) hands in its own small `Definitions`, merged here.
"""

from __future__ import annotations

import dagster as dg

from cognitionos_dagster.defs.memory import memory_definitions
from cognitionos_dagster.defs.metrics import metrics_definitions
from cognitionos_dagster.defs.platform import platform_health
from cognitionos_dagster.defs.quality import quality_definitions
from cognitionos_dagster.defs.workflows import memory_handoffs, workflow_definitions
from cognitionos_dagster.integrations.database import DatabaseResource
from cognitionos_dagster.settings import load_settings


def build_definitions() -> dg.Definitions:
    settings = load_settings()
    platform = dg.Definitions(jobs=[platform_health], resources={"db": DatabaseResource()})
    workflows = workflow_definitions(settings)
    # Every job defaults to the in-process executor: asset jobs (memory_lifecycle with its checks)
    # otherwise spawn a process per step, which costs about a second each on this kind of machine.
    executor = dg.Definitions(executor=dg.in_process_executor)
    return dg.Definitions.merge(platform, workflows, memory_definitions(memory_handoffs(workflows)),
                                metrics_definitions(), quality_definitions(), executor)
