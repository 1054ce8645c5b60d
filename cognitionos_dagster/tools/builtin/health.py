"""`health_probe`: one platform check per call (database, pgvector, model endpoint, daemon heartbeat).

The `health_check` workflow runs one step per check so the run page shows which one failed.
The daemon's heartbeat is read from Dagster's own storage tables with SQL, so this domain
code needs no Dagster import.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from cognitionos_dagster.db import server
from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.settings import Settings
from cognitionos_dagster.tools.base import Tool, ToolInput, ToolOutput
from cognitionos_dagster.tools.context import ToolContext

Check = Literal["database", "pgvector", "model", "daemon"]


class HealthProbeInput(ToolInput):
    check: Check
    required: bool = True
    max_age_seconds: float = 120.0


class HealthProbeTool(Tool):
    name = "health_probe"
    description = "Checks one part of the platform: database, pgvector, model endpoint or daemon heartbeat."
    input_model = HealthProbeInput
    output_model = ToolOutput
    permissions_required = ["platform_read"]

    def run(self, data: ToolInput, ctx: ToolContext) -> ToolOutput:
        assert isinstance(data, HealthProbeInput)
        started = time.perf_counter()
        try:
            healthy, detail = _CHECKS[data.check](ctx.settings, data)
        except Exception as exc:  # a probe reports what broke; `required` decides if that fails the step
            healthy, detail = False, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        result = {"check": data.check, "healthy": healthy, "detail": detail,
                  "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
        if healthy or not data.required:
            return ToolOutput(success=True, result=result)
        return ToolOutput(success=False, result=result, error=f"{data.check} is unhealthy: {detail}")


def _database(settings: Settings, _: HealthProbeInput) -> tuple[bool, str]:
    target = server.resolve(settings, start=False)
    row = Database(target.app_url).fetch_one("SELECT current_database() AS name")
    return row is not None, f"connected to {row['name'] if row else '?'}"


def _pgvector(settings: Settings, _: HealthProbeInput) -> tuple[bool, str]:
    target = server.resolve(settings, start=False)
    row = Database(target.app_url).fetch_one("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
    if row is None:
        return False, "the vector extension is not created; run `cognos db upgrade`"
    return True, f"pgvector {row['extversion']}"


def _model(settings: Settings, data: HealthProbeInput) -> tuple[bool, str]:
    if settings.offline:
        return True, "offline provider (no OPENAI_API_KEY or OPENAI_BASE_URL): deterministic answers"
    import httpx

    base = (settings.openai_base_url or "https://api.openai.com/v1").rstrip("/")
    headers = {}
    if settings.openai_api_key is not None:
        headers["Authorization"] = f"Bearer {settings.openai_api_key.get_secret_value()}"
    response = httpx.get(f"{base}/models", headers=headers, timeout=10.0)
    return response.status_code < 400, f"{base}/models answered HTTP {response.status_code}"


def _daemon(settings: Settings, data: HealthProbeInput) -> tuple[bool, str]:
    target = server.resolve(settings, start=False)
    rows: list[dict[str, Any]] = Database(target.dagster_url).fetch_all(
        "SELECT daemon_type, EXTRACT(EPOCH FROM (now() AT TIME ZONE 'UTC' - max(timestamp))) AS age "
        "FROM daemon_heartbeats GROUP BY daemon_type"
    )
    if not rows:
        return False, "no daemon heartbeat recorded (start the UI with `make run`, which runs the daemon)"
    stale = [f"{r['daemon_type']} ({r['age']:.0f} s)" for r in rows if float(r["age"]) > data.max_age_seconds]
    if stale:
        return False, "stale heartbeats: " + ", ".join(stale)
    return True, f"{len(rows)} daemon(s) beating, newest {min(float(r['age']) for r in rows):.0f} s ago"


_CHECKS = {"database": _database, "pgvector": _pgvector, "model": _model, "daemon": _daemon}
