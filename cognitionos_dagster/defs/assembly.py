"""Builds the `Definitions` of the code location from each domain's contribution.

Called lazily by `cognitionos_dagster.definitions` when Dagster loads the location.
"""

from __future__ import annotations

import dagster as dg

from cognitionos_dagster.defs.platform import platform_health
from cognitionos_dagster.integrations.database import DatabaseResource


def build_definitions() -> dg.Definitions:
    return dg.Definitions(
        jobs=[platform_health],
        resources={"db": DatabaseResource()},
    )
