"""The code location's one lazy root: nothing happens at import, only when Dagster loads it."""

from __future__ import annotations

import dagster as dg


@dg.definitions  # type: ignore[arg-type]  # a run worker gets a RepositoryDefinition (per_job)
def defs() -> dg.Definitions | dg.RepositoryDefinition:
    from cognitionos_dagster.defs.assembly import build_location

    return build_location()
